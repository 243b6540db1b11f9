import type { AgentTransport, WaitingPage } from "../agent-transport";
import type { ChatContext, HistoryMessageBody, ReleaseTarget, SessionBody, WaitingSessionBody } from "../api-types";
import { ChatApiError } from "../chat-error";

let clock = 0;
const nextId = (): string => `M${String(++clock).padStart(6, "0")}`;

/** One escalated conversation as the fake keeps it: its session, its messages, its waiting-list entry. */
interface FakeConversation {
  session: SessionBody;
  messages: HistoryMessageBody[];
  entry: WaitingSessionBody;
}

/** The staff routes in memory, behaving as the API does: the first reply takes the session and writes a marker. */
export class FakeAgentTransport implements AgentTransport {
  /** Every call, in order: the method's name and its arguments. */
  readonly calls: Array<[string, ...unknown[]]> = [];
  private readonly conversations = new Map<string, FakeConversation>();
  /** While set, every call rejects with it (a ChatApiError as the API's refusal, anything else as a network failure). */
  fail: Error | null = null;

  /** `me`: the name of the person of the support team the inbox is signed in as. */
  constructor(private readonly me = "Dana Reyes") {}

  /** A conversation waiting for a person, with the customer's messages. */
  waitingSession(id: string, reason: string, ...customer: string[]): void {
    const now = new Date(0).toISOString();
    const messages = customer.map((content): HistoryMessageBody => ({
      id: nextId(), role: "user", content, created_at: now, tokens: 0, status: "ok",
    } as HistoryMessageBody));
    this.conversations.set(id, {
      session: { id, session_type: "customer_support", status: "escalated", provider: "offline", model: "offline-1",
        created_at: now, updated_at: now, message_count: messages.length, total_tokens: 0, total_cost: 0,
        escalation_reason: reason, taken_by_name: null } as SessionBody,
      messages,
      entry: { session_id: id, user_id: "carol", session_type: "customer_support", reason, escalated_at: now,
        waiting_seconds: 90 * (this.conversations.size + 1), last_customer_message: customer.at(-1) ?? null,
        taken_by: null, taken_by_name: null } as WaitingSessionBody,
    });
  }

  /** What the customer's app sent with the session (the waiting list's `context`). */
  withContext(id: string, context: ChatContext | null): void {
    const c = this.get(id);
    c.entry = { ...c.entry, context };
  }

  /** Another person of the support team (`name`) takes the conversation first: this one's Take is then refused. */
  takenBy(id: string, name: string): void {
    const c = this.get(id);
    this.takeAs(c, name);
  }

  /** The customer writes while the conversation waits. */
  customerWrites(id: string, content: string): void {
    const c = this.get(id);
    c.messages.push({ id: nextId(), role: "user", content, created_at: "", tokens: 0, status: "ok" } as HistoryMessageBody);
    c.entry = { ...c.entry, last_customer_message: content };
  }

  /** The arguments of each call of the method `name`, in order. */
  callsOf(name: string): unknown[][] {
    return this.calls.filter(([n]) => n === name).map(([, ...args]) => args);
  }

  async waiting(options: { cursor?: string | null } = {}): Promise<WaitingPage> {
    this.calls.push(["waiting", options]);
    this.check();
    const sessions = [...this.conversations.values()].filter((c) => c.session.status === "escalated").map((c) => c.entry);
    return { sessions, nextCursor: null };
  }

  async history(sessionId: string, options: { after?: string | null } = {}) {
    this.calls.push(["history", sessionId, options]);
    this.check();
    const c = this.get(sessionId);
    const after = options.after;
    const messages = after ? c.messages.filter((m) => m.id > after) : c.messages;
    return { session_id: sessionId, messages: [...messages], metadata: { ...c.session }, next_cursor: null, next_after: null };
  }

  async reply(sessionId: string, content: string): Promise<HistoryMessageBody> {
    this.calls.push(["reply", sessionId, content]);
    this.check();
    const c = this.get(sessionId);
    if (!c.session.taken_by_name) this.takeAs(c, this.me);
    const message = this.agent(content, null, this.me);
    c.messages.push(message);
    return message;
  }

  async release(sessionId: string, to: ReleaseTarget, note?: string): Promise<SessionBody> {
    this.calls.push(["release", sessionId, to, note]);
    this.check();
    const c = this.get(sessionId);
    c.session = { ...c.session, status: to === "ai" ? "active" : "completed", taken_by_name: null };
    c.messages.push(this.agent(to === "ai" ? `${this.me} handed the conversation back to the assistant.`
      : `${this.me} closed the conversation.`, "left"));
    return c.session;
  }

  async take(sessionId: string): Promise<SessionBody> {
    this.calls.push(["take", sessionId]);
    this.check();
    const c = this.get(sessionId);
    const holder = c.session.taken_by_name;
    if (holder && holder !== this.me) {
      throw new ChatApiError(409, { code: "escalation_taken", taken_by_name: holder,
        detail: `${holder} has already taken this conversation; it is theirs until they hand it back or close it.` });
    }
    if (!holder) this.takeAs(c, this.me);
    return c.session;
  }

  private takeAs(c: FakeConversation, name: string): void {
    c.session = { ...c.session, taken_by_name: name };
    c.entry = { ...c.entry, taken_by: name.toLowerCase(), taken_by_name: name };
    c.messages.push(this.agent(`${name} joined the conversation.`, "joined", name));
  }

  private agent(content: string, handoff: "joined" | "left" | null, name = this.me): HistoryMessageBody {
    return { id: nextId(), role: "agent", content, created_at: "", tokens: 0, status: "ok", agent_name: name,
      handoff } as HistoryMessageBody;
  }

  private get(id: string): FakeConversation {
    const c = this.conversations.get(id);
    if (!c) throw new Error(`no conversation ${id}`);
    return c;
  }

  private check(): void {
    if (this.fail) throw this.fail;
  }
}
