// The hook docs/streaming.md shows (the part between the docs markers is that page's snippet, word for word:
// tests/unit/test_docs.py checks it): useChat on this backend's POST /chat/stream through the package's adapter.
// docs snippet: start
import { useChat } from "@ai-sdk/react";
import { useEffect, useState } from "react";
import {
  BackendChatTransport, followHandoff, loadConversation, mergeMessages, newestStoredId, type BackendUIMessage,
} from "@ai-chat/widget/ai-sdk";

const SESSION_KEY = "ai-chat:session"; // the conversation to resume after a reload

export function useBackendChat(apiBaseUrl: string, token: () => string) {
  const [transport] = useState(() => new BackendChatTransport({
    apiBaseUrl, token,
    sessionId: localStorage.getItem(SESSION_KEY),
    onSessionId: (id) => localStorage.setItem(SESSION_KEY, id),
  }));
  const chat = useChat<BackendUIMessage>({ transport });
  const { messages, setMessages } = chat;
  const [escalated, setEscalated] = useState(false);

  // After a reload: the stored conversation, under the history's ids (a gone session starts a new one).
  useEffect(() => {
    if (!transport.sessionId) return;
    void loadConversation({ apiBaseUrl, token, sessionId: transport.sessionId }).then((loaded) => {
      if (loaded === null) return transport.setSession(null);
      setMessages(loaded.messages);
      setEscalated(loaded.session.status === "escalated");
    });
  }, [transport, apiBaseUrl, token, setMessages]);

  // Handed to a person (by the model, or the session already was): their replies come through the history.
  const ending = messages.at(-1)?.metadata?.stopped;
  useEffect(() => {
    if (ending === "escalated") setEscalated(true);
  }, [ending]);
  useEffect(() => {
    if (!escalated || !transport.sessionId) return;
    return followHandoff({
      apiBaseUrl, token, sessionId: transport.sessionId, after: newestStoredId(messages),
      onMessages: (found, session) => {
        setMessages((current) => mergeMessages(current, found));
        if (session.status !== "escalated") setEscalated(false);
      },
    });
  }, [escalated]); // eslint-disable-line react-hooks/exhaustive-deps -- follow once per hand-over

  // Stop: the reply ends where it is shown, and the server keeps exactly that (before `start` too).
  return { ...chat, stop: () => transport.stop(), escalated };
}
// docs snippet: end
