// The example's page: the conversation useBackendChat (use-backend-chat.ts) keeps, with Send, Stop and Retry. It talks
// to the API at #server=<url> with the dev token #token=<token> (`make example` opens it so); widget/e2e's
// use-chat.spec.mjs drives this page in Chromium from another origin than the server's.
import { StrictMode, useMemo, useState, type FormEvent } from "react";
import { createRoot } from "react-dom/client";
import { useBackendChat } from "./use-backend-chat";

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
