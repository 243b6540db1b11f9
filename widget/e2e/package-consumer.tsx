// A host app's page as the README shows it, written against the installed package (package.spec.mjs type-checks
// it under strict tsc in an app that installed the packed tarball): the widget and the agent inbox with every
// callback, useAIChat, and the testing entry's fakes as a host's own test would use them. Type-checked, not run.
import { useState, type ReactNode } from "react";
import {
  AIChatAgentInbox,
  AIChatWidget,
  ChatApiError,
  ChatClient,
  createFetchTransport,
  useAIChat,
  type AgentInboxAction,
  type AgentReleaseEvent,
  type AgentReplyEvent,
  type ChatAction,
  type ChatEscalation,
  type ChatMessage,
} from "@ai-chat/widget";
import { FakeAgentTransport, FakeStreamApi, FakeTransport, MemoryStorage, delta, endParts, escalationCall, startParts } from "@ai-chat/widget/testing";

const track = (name: string, data: Record<string, unknown>): void => console.log(name, data);

export function SupportPage({ token }: { token: () => Promise<string> }): ReactNode {
  const [open, setOpen] = useState(false);
  return (
    <>
      <p>{open ? "Chat open" : "Chat closed"}</p>
      <AIChatWidget
        apiBaseUrl="https://api.example.com"
        getToken={token}
        title="Acme support"
        theme="auto"
        onMessage={(message: ChatMessage) => track("chat_message", { role: message.role, id: message.id })}
        onEscalate={(escalation: ChatEscalation) => track("chat_escalated", { by: escalation.by, session: escalation.sessionId })}
        onError={(error: ChatApiError, action: ChatAction) => track("chat_error", { code: error.code, action })}
        onOpenChange={setOpen}
      />
    </>
  );
}

export function InboxPage({ token }: { token: () => string }): ReactNode {
  return (
    <AIChatAgentInbox
      apiBaseUrl=""
      getToken={token}
      onReply={(event: AgentReplyEvent) => track("staff_reply", { session: event.sessionId, id: event.message.id })}
      onRelease={(event: AgentReleaseEvent) => track("staff_release", { session: event.sessionId, to: event.to })}
      onError={(error: ChatApiError, action: AgentInboxAction) => track("inbox_error", { code: error.code, action })}
    />
  );
}

export function Counter(): ReactNode {
  const chat = useAIChat({ onMessage: (m) => track("hook_message", { id: m.id }) });
  return <span>{chat.chatHistory.length}</span>;
}

/** A host's own test, without a server: a whole reply, a hand-over, a streamed reply, an inbox. */
export async function hostTest(): Promise<void> {
  const transport = new FakeTransport();
  transport.toolsNext({ function_calls: [escalationCall("wants a person")], message: "Passing you on." });
  const client = new ChatClient({ transport, storage: new MemoryStorage() });
  const answer = await client.sendMessage("I want a person");
  if (client.getSnapshot().sessionStatus !== "escalated" || answer.message !== "Passing you on.") throw new Error("not handed over");
  transport.failNext("chat", new ChatApiError(503, { code: "provider_unavailable" }));

  const api = new FakeStreamApi();
  const streaming = new ChatClient({ transport: createFetchTransport({ getToken: () => "t", fetch: api.fetch }), storage: null });
  const sent = streaming.sendMessage("Hello");
  const body = await api.nextStream();
  body.write(startParts("S1", "U1"), delta("Hi."), endParts("S1", "M1"));
  body.close();
  await sent;

  const staff = new FakeAgentTransport("Dana Reyes");
  staff.waitingSession("S1", "Billing", "My bill doubled");
  await staff.reply("S1", "Refunded.");
}
