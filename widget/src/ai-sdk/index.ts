/**
 * `@ai-chat/widget/ai-sdk`: the AI SDK's `useChat` on this API, with no React of its own. A transport (session,
 * Idempotency-Key, a Stop that keeps what was shown), the history as `UIMessage`s, and a person's replies followed.
 */
export { BackendChatTransport, type BackendChatTransportOptions, type TokenSource } from "./chat-transport";
export { followHandoff, type FollowHandoffOptions } from "./handoff";
export { loadConversation, type LoadConversationOptions, type LoadedConversation } from "./history";
export {
  mergeMessages,
  newestStoredId,
  toUIMessage,
  toUIMessages,
  type BackendAuthor,
  type BackendDataParts,
  type BackendMetadata,
  type BackendUIMessage,
  type ToUIMessagesOptions,
} from "./messages";
export type { HistoryBody, HistoryMessageBody, SessionBody, StopBody } from "../api-types";
