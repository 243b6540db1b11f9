// A plain AI SDK app: the real useChat (@ai-sdk/react 3 with ai 6, or 4 with ai 7: one app each in e2e/apps/) on
// this backend's POST /chat/stream through the package's adapter (@ai-chat/widget/ai-sdk), set up as
// docs/streaming.md shows (the part between the docs markers is that page's snippet, word for word:
// tests/unit/test_docs.py checks it). use-chat.spec.mjs bundles it and opens it from another origin than the
// server's, with #server=<url>&token=<token>.
import { StrictMode, useMemo, type FormEvent } from "react";
import { createRoot } from "react-dom/client";

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

declare global {
  interface Window {
    /** The stop route's answer, for the test to read (null: no reply was streaming). */
    __stopAnswer?: unknown;
  }
}

function App({ base, token }: { base: string; token: string }) {
  const getToken = useMemo(() => () => token, [token]);
  const { messages, sendMessage, regenerate, status, error, stop, escalated } = useBackendChat(base, getToken);
  const [input, setInput] = useState("");
  const busy = status === "submitted" || status === "streaming";

  const send = (event: FormEvent) => {
    event.preventDefault();
    if (!input.trim() || busy) return;
    void sendMessage({ text: input });
    setInput("");
  };
  const onStop = async () => {
    window.__stopAnswer = await stop();
  };

  return (
    <main style={{ fontFamily: "sans-serif", maxWidth: 800 }}>
      <style>{"pre { white-space: pre-wrap; word-break: break-all; font-size: 12px; color: #555 }"}</style>
      <h1>useChat on the AI chat backend</h1>
      <ol aria-label="Messages">
        {messages.map((message) => (
          <li key={message.id} className="message" data-role={message.role} data-id={message.id}
            data-author={message.metadata?.author?.kind ?? (message.role === "user" ? "user" : "model")}>
            <strong>{message.metadata?.author?.kind === "person" ? message.metadata.author.name : message.role}</strong>
            {message.parts.map((part, i) => {
              if (part.type === "text") return <p key={i} className="text">{part.text}</p>;
              if (part.type === "dynamic-tool") {
                return (
                  <div key={i} className="tool" data-tool={part.toolName} data-state={part.state}
                    data-input={JSON.stringify(part.input ?? null)}
                    data-output={part.state === "output-available" ? JSON.stringify(part.output) : undefined}>
                    tool {part.toolName}: {part.state}
                    {part.state === "output-available" && <pre className="output">{JSON.stringify(part.output)}</pre>}
                    {part.state === "output-error" && <pre className="output-error">{part.errorText}</pre>}
                  </div>
                );
              }
              return null;
            })}
            {message.metadata && (
              <pre className="metadata" data-metadata={JSON.stringify(message.metadata)}>
                {JSON.stringify(message.metadata)}
              </pre>
            )}
          </li>
        ))}
      </ol>
      <p className="status" data-status={status} data-escalated={String(escalated)}>status: {status}</p>
      {error && <p role="alert">{error.message}</p>}
      {error && <button type="button" onClick={() => void regenerate()}>Retry</button>}
      <form onSubmit={send}>
        <input aria-label="Message" value={input} onChange={(event) => setInput(event.target.value)} />
        <button type="submit" disabled={busy}>Send</button>
        <button type="button" disabled={!busy} onClick={() => void onStop()}>Stop</button>
      </form>
    </main>
  );
}

const params = new URLSearchParams(location.hash.slice(1));
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App base={params.get("server") ?? ""} token={params.get("token") ?? ""} />
  </StrictMode>,
);
