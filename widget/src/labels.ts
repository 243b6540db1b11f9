/**
 * Every sentence and name the widget and the agent inbox show or say (to a screen reader too), as one `Labels`
 * object: English here, German in labels-de.ts; a host changes some with the `labels` prop (`Partial<Labels>`) or
 * picks a whole locale with `locale`. One type for both components, so one locale object serves a site's customers
 * and its support team; the inbox's own keys start with `inbox`.
 *
 * What the server writes is shown in its own words unless the labels have words for it: an error by its `code`
 * (`errors`, then `errorKinds`), a reply the server wrote because its turn ended early by its `stopped` value
 * (`turnEnds`), a person's joined and left lines by their `handoff` kind (`handoffJoined`, `handoffLeft`).
 */
import type { ChatErrorKind } from "./chat-error";
import type { ChatAction } from "./chat-state";

export interface Labels {
  /** The language (a BCP 47 tag) set as `lang` on the widget's and the inbox's root. */
  lang: string;
  /** The writing direction set as `dir` there: the layout mirrors for `rtl`. */
  dir: "ltr" | "rtl";

  // The widget: the launcher, the panel's header, the composer.
  title: string;
  openLauncher: (title: string) => string;
  minimiseLauncher: (title: string) => string;
  subtitleAssistant: string;
  subtitleEscalated: string;
  subtitleClosed: string;
  newConversation: string;
  newConversationTip: string;
  minimise: string;
  minimiseTip: string;
  messageBox: string;
  placeholder: string;
  closedPlaceholder: string;
  send: string;
  stop: string;
  stopping: string;
  talkToPerson: string;
  newLineHint: string;

  // Deleting the conversation: the header's button, the question it asks, and what follows.
  deleteConversation: string;
  deleteQuestion: string;
  deleteDetail: string;
  deleteConfirm: string;
  deleting: string;
  deletedNotice: string;

  // The conversation.
  conversation: string;
  showEarlier: string;
  loading: string;
  empty: string;
  typing: string;
  youSaid: string;
  assistantSaid: string;
  personSaid: (name: string) => string;
  aPerson: string;
  supportTeamMember: (name: string) => string;
  notSent: string;
  retry: string;
  helpful: string;
  notHelpful: string;
  /** The note under a reply stopped with Stop. */
  stoppedNote: string;
  /** The note under a reply the provider cut short. */
  cutShortNote: string;
  actionsTaken: string;
  callCreatingTicket: (title: string | null) => string;
  callHandingOver: string;
  callRunning: (name: string) => string;
  callFailed: (name: string, why: string | null) => string;
  callTicketCreated: (title: string | null, priority: string | null) => string;
  callHandedOver: (reason: string | null) => string;
  callDone: (name: string) => string;

  // Errors.
  /** What failed, before the error's sentence, per action. */
  failed: Readonly<Record<ChatAction, string>>;
  tryAgain: string;
  /** The sentence for an error, by the API's `code`; a code not here keeps the server's sentence. */
  errors: Readonly<Record<string, string>>;
  /** For a code `errors` has no sentence for: one per kind of error, or null to keep the server's sentence. */
  errorKinds: Readonly<Record<ChatErrorKind, string>> | null;

  // What the server writes in the conversation.
  /** A reply the server wrote when its turn ended early, by its `stopped` value (`escalated`: the hand-over). */
  turnEnds: Readonly<Record<string, string>>;
  /** A person's "joined" line, or null for the server's sentence. */
  handoffJoined: ((name: string) => string) | null;
  /** A person's "left" line (handed back or closed), or null for the server's sentence. */
  handoffLeft: ((name: string) => string) | null;

  // A person of the support team.
  closedNotice: string;
  answering: (name: string) => string;
  answeringDetail: string;
  personWillReply: string;
  personWillReplyDetail: string;
  checkFailing: string;
  cancelRequest: string;
  escalateQuestion: string;
  askForPerson: string;
  cancel: string;
  /** Sent to the support team as the reason when the customer gives none. */
  defaultEscalationReason: string;

  // Rating.
  rateConversation: string;
  ratingAsk: string;
  ratingThanks: string;
  stars: (value: number) => string;
  commentLabel: string;
  commentThanks: string;

  // Said by the screen reader's live region.
  announceReplying: string;
  announceNoReply: string;
  announceStopped: (text: string) => string;
  announceTakenOver: string;
  announceReplied: (text: string) => string;
  announcePersonReplied: (name: string, text: string) => string;
  announcePassedToSupport: string;

  // The agent inbox.
  inboxTitle: string;
  inboxRegion: string;
  inboxWaitingList: string;
  inboxNobodyWaiting: string;
  inboxLoadMore: string;
  inboxNoReason: string;
  inboxEntryMeta: (customer: string, waited: string, takenBy: string | null) => string;
  inboxWaited: (seconds: number) => string;
  inboxContextMore: (count: number) => string;
  inboxOpenFromList: string;
  inboxBack: string;
  inboxCustomer: (customer: string) => string;
  inboxConversation: string;
  inboxLoading: string;
  inboxHasIt: (name: string) => string;
  inboxNobodyAnswered: string;
  inboxHandedBack: string;
  inboxClosed: string;
  inboxAuthorCustomer: string;
  inboxAuthorAssistant: string;
  inboxCustomerWrote: (text: string) => string;
  inboxReplyForm: string;
  inboxYourReply: string;
  inboxReplyPlaceholder: string;
  inboxHint: string;
  inboxTake: string;
  inboxHandBack: string;
  inboxClose: string;
}

/** The English labels: the widget's and the inbox's defaults. The server's sentences are English already. */
export const en: Labels = {
  lang: "en",
  dir: "ltr",
  title: "AI assistant",
  openLauncher: (title) => `Open ${title}`,
  minimiseLauncher: (title) => `Minimise ${title}`,
  subtitleAssistant: "Answers are AI-generated",
  subtitleEscalated: "Handed to our support team",
  subtitleClosed: "Conversation closed",
  newConversation: "Start a new conversation",
  newConversationTip: "New conversation",
  minimise: "Minimise chat",
  minimiseTip: "Minimise",
  messageBox: "Message",
  placeholder: "Type a message…",
  closedPlaceholder: "This conversation is closed",
  send: "Send",
  stop: "Stop",
  stopping: "Stopping…",
  talkToPerson: "Talk to a person",
  newLineHint: "Shift+Enter for a new line",
  deleteConversation: "Delete conversation",
  deleteQuestion: "Delete this conversation?",
  deleteDetail: "Its messages are deleted for good. This cannot be undone.",
  deleteConfirm: "Delete",
  deleting: "Deleting…",
  deletedNotice: "The conversation was deleted.",
  conversation: "Conversation",
  showEarlier: "Show earlier messages",
  loading: "Loading your conversation…",
  empty: "Hi! Ask a question and the assistant will answer here.",
  typing: "The assistant is typing…",
  youSaid: "You said:",
  assistantSaid: "The assistant said:",
  personSaid: (name) => `${name} said:`,
  aPerson: "A person",
  supportTeamMember: (name) => `${name} (support team)`,
  notSent: "Not sent.",
  retry: "Retry",
  helpful: "Helpful",
  notHelpful: "Not helpful",
  stoppedNote: "Stopped",
  cutShortNote: "Cut short: the assistant stopped answering. Send your message again for the rest.",
  actionsTaken: "Actions taken",
  callCreatingTicket: (title) => (title ? `Creating a ticket: ${title}…` : "Creating a ticket…"),
  callHandingOver: "Handing over to a person…",
  callRunning: (name) => `Running ${name}…`,
  callFailed: (name, why) => (why ? `${name} failed: ${why}` : `${name} failed`),
  callTicketCreated: (title, priority) =>
    title ? (priority ? `Ticket created: ${title} (${priority})` : `Ticket created: ${title}`) : "Ticket created",
  callHandedOver: (reason) => (reason ? `Handed over to a person: ${reason}` : "Handed over to a person"),
  callDone: (name) => `${name} done`,
  failed: {
    send: "Your message was not sent.",
    load: "Your conversation could not be loaded.",
    older: "Earlier messages could not be loaded.",
    feedback: "Your rating was not saved.",
    rate: "Your rating was not saved.",
    escalate: "Your request for a person was not sent.",
    stop: "The reply could not be stopped.",
    withdraw: "Your request for a person could not be cancelled.",
    delete: "The conversation was not deleted.",
  },
  tryAgain: "Try again",
  errors: {},
  errorKinds: null,
  turnEnds: {},
  handoffJoined: null,
  handoffLeft: null,
  closedNotice: "This conversation is closed.",
  answering: (name) => `${name} is answering.`,
  answeringDetail: "They are from our support team and will reply here.",
  personWillReply: "A person will reply here.",
  personWillReplyDetail: "We have passed this conversation to our support team. You can keep writing: your messages go to them.",
  checkFailing: "New messages could not be checked for; still trying.",
  cancelRequest: "Cancel request",
  escalateQuestion: "What should our support team know? (optional)",
  askForPerson: "Ask for a person",
  cancel: "Cancel",
  defaultEscalationReason: "The user asked to talk to a person from the chat widget.",
  rateConversation: "Rate this conversation",
  ratingAsk: "How was this conversation?",
  ratingThanks: "Thanks for your rating.",
  stars: (value) => `${value} out of 5`,
  commentLabel: "Anything to add? (optional)",
  commentThanks: "Thanks for telling us more.",
  announceReplying: "The assistant is replying…",
  announceNoReply: "The assistant did not reply.",
  announceStopped: (text) => `Reply stopped. ${text}`.trim(),
  announceTakenOver: "A person from the support team has the conversation now.",
  announceReplied: (text) => `The assistant replied: ${text}`,
  announcePersonReplied: (name, text) => `${name} replied: ${text}`,
  announcePassedToSupport: "Your message was passed to our support team.",
  inboxTitle: "Waiting for a person",
  inboxRegion: "Conversations waiting for a person",
  inboxWaitingList: "Waiting conversations",
  inboxNobodyWaiting: "Nobody is waiting.",
  inboxLoadMore: "Load more",
  inboxNoReason: "No reason given",
  inboxEntryMeta: (customer, waited, takenBy) =>
    `customer ${customer} · waiting ${waited} · ${takenBy ? `taken by ${takenBy}` : "not taken"}`,
  inboxWaited: (seconds) => {
    if (seconds < 60) return "just now";
    const minutes = Math.floor(seconds / 60);
    return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  },
  inboxContextMore: (count) => `+${count} more`,
  inboxOpenFromList: "Open a conversation from the list.",
  inboxBack: "Back to the list",
  inboxCustomer: (customer) => `Customer ${customer}`,
  inboxConversation: "Conversation",
  inboxLoading: "Loading…",
  inboxHasIt: (name) => `${name} has this conversation`,
  inboxNobodyAnswered: "Nobody has answered yet",
  inboxHandedBack: "Handed back to the assistant",
  inboxClosed: "Closed",
  inboxAuthorCustomer: "Customer",
  inboxAuthorAssistant: "Assistant",
  inboxCustomerWrote: (text) => `The customer wrote: ${text}`,
  inboxReplyForm: "Reply to the customer",
  inboxYourReply: "Your reply",
  inboxReplyPlaceholder: "Write to the customer…",
  inboxHint: "Enter sends, Shift+Enter adds a line",
  inboxTake: "Take conversation",
  inboxHandBack: "Hand back to AI",
  inboxClose: "Close conversation",
};
