/**
 * `@ai-chat/widget/testing`: stand-ins for the API, so an app can test its own UI around the widget, the agent
 * inbox or useAIChat without a server (the package's own tests use them). No test framework is assumed: they are
 * plain classes and functions.
 *
 * - {@link FakeTransport}: the customer's routes in memory, for `<AIChatWidget transport={…}>`, `useAIChat({
 *   transport })` or `new ChatClient({ transport })`: sessions, echoing replies, scripted tool calls, failures and
 *   held answers, escalation and a person's replies. Its replies come whole (POST /chat); for streamed ones use
 *   {@link FakeStreamApi}.
 * - {@link FakeAgentTransport}: the support staff's routes in memory, for `<AIChatAgentInbox transport={…}>`.
 * - {@link FakeStreamApi}: the API behind `fetch`, for `createFetchTransport({ fetch })`, with POST /chat/stream
 *   bodies the test writes part by part ({@link startParts}, {@link delta}, {@link endParts}).
 */
export {
  escalationCall,
  fakeCall,
  FakeTransport,
  MemoryStorage,
  ticketCall,
  WITH_A_PERSON,
  type Call,
  type ScriptedTurn,
  type StoredConversation,
} from "./fake-transport";
export { FakeAgentTransport } from "./fake-agent-transport";
export {
  BodyWriter,
  DONE,
  delta,
  endParts,
  FakeStreamApi,
  historyPage,
  json,
  sse,
  type RecordedRequest,
  startParts,
  storedMessage,
} from "./fake-stream";
