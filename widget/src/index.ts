export { AIChatWidget, type AIChatPosition, type AIChatTheme, type AIChatWidgetProps } from "./ai-chat-widget";
export { useAIChat, type UseAIChatOptions, type UseAIChatResult } from "./use-ai-chat";
export {
  ChatEventTracker,
  watchChatEvents,
  type ChatEscalation,
  type ChatEscalationSource,
  type ChatEvent,
  type ChatEventHandlers,
} from "./chat-events";
export { AIChatProvider, type AIChatConnection } from "./ai-chat-provider";
export { ChatClient, DEFAULT_SESSION_TYPE, type ChatClientOptions } from "./chat-client";
export {
  TAKEN_BY_PERSON,
  type ChatAction,
  type ChatFunctionCall,
  type ChatMessage,
  type ChatState,
  type ChatStatus,
} from "./chat-state";
export { storageKeyFor, type SessionStorage } from "./session-storage";
export { latestResumableSession, type ListMySessions, type SessionPage } from "./session-resume";
export { ChatApiError, type ChatErrorKind } from "./chat-error";
export { API_PREFIX, createFetchTransport, type ChatTransport, type FetchTransportOptions, type HistoryOptions, type TokenSource } from "./transport";
export { AIChatAgentInbox, type AIChatAgentInboxProps } from "./agent-inbox";
export { en, type Labels } from "./labels";
export { de } from "./labels-de";
export { LOCALES, resolveLabels, type LocaleName } from "./locales";
export {
  useAgentInbox,
  type AgentInboxAction,
  type AgentInboxEventHandlers,
  type AgentReleaseEvent,
  type AgentReplyEvent,
  type AgentTakeEvent,
  type UseAgentInboxOptions,
  type UseAgentInboxResult,
} from "./use-agent-inbox";
export { createAgentFetchTransport, type AgentTransport, type WaitingPage } from "./agent-transport";
export { createApiRequests, type ApiRequestOptions, type ApiRequests } from "./api-requests";
export { Markdown } from "./markdown";
export { parsePart, readUiMessageStream, SseParser, type StreamMetadata, type UiMessagePart } from "./ui-message-stream";
export { describeFunctionCall } from "./function-calls";
export type * from "./api-types";
