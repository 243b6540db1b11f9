// A plain AI SDK app: the real useChat (@ai-sdk/react 3, ai 6) on this backend's POST /chat/stream, set up as
// README shows (the part between the README markers is the snippet, word for word). use-chat.spec.mjs bundles it
// and opens it from another origin than the server's, with #server=<url>&token=<token>.
import { StrictMode, useState, type FormEvent } from "react";
import { createRoot } from "react-dom/client";

// README snippet: start
import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport, type UIMessage } from "ai";

/** `message.metadata` of a reply: the `start` part's session_id, merged with the `message-metadata` part's usage. */
type ChatMetadata = {
  session_id?: string;
  message_id?: string;
  user_message_id?: string;
  tokens?: number;
  input_tokens?: number;
  output_tokens?: number;
  cost_cents?: number;
  model?: string;
  provider?: string;
  truncated?: boolean;
  stopped?: string | null;
  estimated?: boolean;
};
type ChatMessage = UIMessage<ChatMetadata>;

/** The conversation's session: the newest reply's session_id; null before the first reply has started. */
const sessionOf = (messages: ChatMessage[]): string | null =>
  [...messages].reverse().find((m) => m.metadata?.session_id)?.metadata?.session_id ?? null;

const textOf = (message: ChatMessage | undefined): string =>
  message?.parts.map((part) => (part.type === "text" ? part.text : "")).join("") ?? "";

export function useBackendChat(base: string, token: string) {
  const headers = () => ({ Authorization: `Bearer ${token}` });
  const chat = useChat<ChatMessage>({
    transport: new DefaultChatTransport<ChatMessage>({
      api: `${base}/api/v1/ai/chat/stream`,
      headers,
      // The API takes one message and the session id, not the whole conversation: it keeps the history itself.
      prepareSendMessagesRequest: ({ messages }) => ({
        body: { message: textOf(messages.at(-1)), session_id: sessionOf(messages) },
      }),
    }),
  });
  // Stop reading at once, and tell the server, which stops the model and keeps the reply so far.
  const stop = async () => {
    const sessionId = sessionOf(chat.messages);
    const told = sessionId
      ? fetch(`${base}/api/v1/ai/sessions/${sessionId}/stop`, {
          method: "POST",
          headers: { ...headers(), "Content-Type": "application/json" },
          body: "{}",
        })
      : undefined;
    await chat.stop();
    return told;
  };
  return { ...chat, stop };
}
// README snippet: end

declare global {
  interface Window {
    /** The stop route's answer, for the test to read: {status, body}. */
    __stopAnswer?: { status: number; body: unknown };
  }
}

function App({ base, token }: { base: string; token: string }) {
  const { messages, sendMessage, status, error, stop } = useBackendChat(base, token);
  const [input, setInput] = useState("");
  const busy = status === "submitted" || status === "streaming";

  const send = (event: FormEvent) => {
    event.preventDefault();
    if (!input.trim() || busy) return;
    void sendMessage({ text: input });
    setInput("");
  };
  const onStop = async () => {
    const answer = await stop();
    if (answer) window.__stopAnswer = { status: answer.status, body: await answer.json().catch(() => null) };
  };

  return (
    <main style={{ fontFamily: "sans-serif", maxWidth: 800 }}>
      <style>{"pre { white-space: pre-wrap; word-break: break-all; font-size: 12px; color: #555 }"}</style>
      <h1>useChat on the AI chat backend</h1>
      <ol aria-label="Messages">
        {messages.map((message) => (
          <li key={message.id} className="message" data-role={message.role} data-id={message.id}>
            <strong>{message.role}</strong>
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
      <p className="status" data-status={status}>status: {status}</p>
      {error && <p role="alert">{error.message}</p>}
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
