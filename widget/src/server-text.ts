/**
 * The server's words in the labels' language, where the labels have words for them: an error by its code, a reply
 * the server wrote when a turn ended early by its `stopped` value, a person's joined or left line by its kind. Each
 * falls back to the server's own sentence.
 */
import type { ChatApiError } from "./chat-error";
import type { Labels } from "./labels";

/** The sentence to show for `error`. */
export function errorSentence(labels: Labels, error: ChatApiError): string {
  return labels.errors[error.code] ?? labels.errorKinds?.[error.kind] ?? error.message;
}

/** The line to show for a person's joined or left marker. */
export function markerText(labels: Labels,
  marker: { handoff: "joined" | "left"; agentName?: string | null; content: string }): string {
  const say = marker.handoff === "joined" ? labels.handoffJoined : labels.handoffLeft;
  return say && marker.agentName ? say(marker.agentName) : marker.content;
}

/**
 * A reply's text: the server's sentence for a turn that ended early is the label's for its `stopped` value, when
 * there is one; the model's own words (any other reply) are shown as written.
 */
export function replyText(labels: Labels, reply: { stopped: string | null; content: string }): string {
  const own = reply.stopped ? labels.turnEnds[reply.stopped] : undefined;
  return own ?? reply.content;
}
