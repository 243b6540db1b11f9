/**
 * GENERATED: do not edit. The API's OpenAPI document (layers/common/python/aichat/api/openapi.py) as TypeScript, by
 * openapi-typescript; `npm run gen:api-types` regenerates it and `npm run check:api-types` fails when it is stale.
 * The widget's own names for these types are in api-types.ts.
 */

export interface paths {
    "/api/v1/ai/chat": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a message and get the assistant's reply
         * @description A null session_id starts a session. The call is refused (400, nothing spent) unless its worst-case cost fits every budget it touches.
         */
        post: operations["chat"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/sessions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Start a chat session */
        post: operations["createSession"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/sessions/my": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller's sessions, newest first */
        get: operations["listMySessions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/sessions/{session_id}/history": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A session's messages, oldest first, with the session */
        get: operations["getHistory"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/sessions/{session_id}/feedback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Rate a session from 1 to 5; it stays open */
        post: operations["submitFeedback"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/sessions/{session_id}/escalate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Hand the session to support staff */
        post: operations["escalate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/sessions/{session_id}/withdraw": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Take back a request for a person no one has taken yet
         * @description The session is active again and the model answers the next message; it leaves the staff's waiting list. Once a person has replied (taken_by_name) it answers 409 escalation_taken.
         */
        post: operations["withdrawEscalation"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/sessions/{session_id}/stop": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Stop the reply streaming in the session
         * @description The streamed reply in flight ends where it is (within about STOP_CHECK_SECONDS), stored as far as it went with `stopped` set and charged at most its reservation. The stream is told through the table, so this works from any function or container.
         */
        post: operations["stopReply"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/sessions/{session_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete one of your sessions and every message of it
         * @description Afterwards the session answers 404 everywhere and leaves the staff's waiting list; GET /sessions/my stops listing it (an index: in AWS within about a second). While a reply is being written it answers 409 turn_in_progress and changes nothing: wait for the reply (or stop it) and delete again. Money spent stays counted in the day's figures; tickets the model opened stay with the operator (docs/privacy.md).
         */
        delete: operations["deleteSession"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/me/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Everything stored of yours, page by page: sessions with their messages, then tickets
         * @description Pages follow next_cursor until it is absent. A session too long for one page goes on in the next under the same id (continued: true): merge its messages by id.
         */
        get: operations["exportMyData"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/sessions/{session_id}/messages/{message_id}/feedback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Thumbs up or down on one assistant reply */
        post: operations["rateMessage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/agent/sessions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Staff: the tenant's sessions waiting for a person, oldest first */
        get: operations["agentListSessions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/agent/sessions/{session_id}/history": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Staff: a session of the tenant that is or was escalated, as its customer sees it */
        get: operations["agentGetHistory"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/agent/sessions/{session_id}/take": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Staff: take an escalated session without replying
         * @description As a first reply takes it: who and when (taken_by, taken_by_name), a turn still running in it overtaken, a "joined" marker for the customer, AgentJoined. One taker: the same person again gets the session unchanged, anyone else 409 escalation_taken (with taken_by_name).
         */
        post: operations["agentTake"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/agent/sessions/{session_id}/messages": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Staff: reply to the customer in an escalated session
         * @description Stored with role agent and the staff member's display name; the first reply takes the session (who, when) and announces AgentJoined. A person's messages take none of the customer's message limit; they have their own bound per session (400 agent_message_limit_exceeded past it), and a release is never refused for it.
         */
        post: operations["agentReply"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/agent/sessions/{session_id}/release": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Staff: hand the session back to the AI, or close it */
        post: operations["agentRelease"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/admin/users/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Admins: erase everything of one user in your tenant, in the background
         * @description Answers 202 with an erasure_id at once; a scheduled function deletes the user's sessions (every message, rating and key claim), tickets and own day counters in bounded steps that survive a restart, then publishes UserDataErased. The tenant's totals stay, as numbers. A user id unknown in the tenant is accepted and erases nothing. What erasure cannot reach is in docs/privacy.md.
         */
        delete: operations["eraseUser"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/admin/erasures/{erasure_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Admins: how far an erasure of your tenant got */
        get: operations["getErasure"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/admin/config": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Admin: the tenant's limits, retention and session types in force, with an ETag
         * @description The deployment's defaults with the tenant's own overrides applied. The ETag names the stored version: send it as If-Match with a PATCH.
         */
        get: operations["adminGetConfig"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Admin: change the tenant's configuration with a JSON merge patch
         * @description RFC 7396: the fields named change, null puts the deployment's value back, fields left out stay. In force on every container within TENANT_CONFIG_TTL_SECONDS; prompts, models, tools and retention apply to new sessions and new writes only. Announced as TenantConfigChanged.
         */
        patch: operations["adminPatchConfig"];
        trace?: never;
    };
    "/api/v1/ai/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The tenant's figures for a UTC day (admins only) */
        get: operations["getUsage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ai/chat/stream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a message and get the reply as it is written (AI SDK UI message stream v1)
         * @description The same body, identity and budgets as POST /chat. A refusal or invalid input is the usual JSON error; once the first model call is reserved the answer is `text/event-stream` in the AI SDK's UI message stream protocol v1 (`useChat` reads it): `start` (its messageMetadata has session_id), per model call `start-step`, `text-start`/`text-delta`/`text-end`, `tool-input-available` and `tool-output-available`/`tool-output-error`, `finish-step`; then `message-metadata` (the metadata of POST /chat's answer, with session_id), `finish` and `data: [DONE]`. A failure after the stream began is an `error` part (and a transient `data-error` part with the code) before `finish`. The turn settles before the stream ends, even if the client left; POST /sessions/{id}/stop ends it early. A repeat with an answered turn's Idempotency-Key streams its stored answer again (`start`, its tool calls, its text, `message-metadata`, `finish`), charged nothing more.
         */
        post: operations["chatStream"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document */
        get: operations["docsOpenapiJson"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Swagger UI */
        get: operations["docsDocs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/redoc": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** ReDoc */
        get: operations["docsRedoc"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs/assets/{asset}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A script or style sheet of the documentation pages */
        get: operations["docsDocsAssetsAsset"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** AgentMessageRequest */
        AgentMessageRequest: {
            /** Content */
            content: string;
        };
        /** ChatMetadata */
        ChatMetadata: {
            /** Tokens */
            tokens: number;
            /** Input Tokens */
            input_tokens: number;
            /** Output Tokens */
            output_tokens: number;
            /** Cost Cents */
            cost_cents: number;
            /** Model */
            model: string;
            /** Provider */
            provider: string;
            /** Message Id */
            message_id: string;
            /**
             * Truncated
             * @description the reply was cut short: the model stopped at the deployment's MAX_TOKENS, or the reply was cut to what MAX_TOKENS allows or a message can hold
             * @default false
             */
            truncated?: boolean;
            /**
             * Stopped
             * @description why the turn ended before the model's own answer: `stopped` (the stop route ended a streamed reply; the text is as far as it went), the code of the limit that refused its next model call, max_tool_steps, escalated (a person takes over), taken_by_person (a person took the session while the turn ran: it ran no tool and kept no model text after that, `message`/`content` is empty, and it is charged for what the provider answered), guardrail_intervened (the provider's guardrail answered or cut the reply: the text is what it let through, charged as the provider reports) or a provider error (after tools ran, or cutting a stream short); null otherwise
             * @default null
             */
            stopped?: string | null;
            /**
             * Estimated
             * @description the provider never reported this reply's usage (a stream stopped or cut short): tokens and cost are an upper bound, never more than the turn reserved
             * @default false
             */
            estimated?: boolean;
        };
        /** ChatRequest */
        ChatRequest: {
            /** Message */
            message: string;
            /**
             * Session Id
             * @default null
             */
            session_id?: string | null;
            /**
             * Context
             * @default null
             */
            context?: {
                [key: string]: unknown;
            } | null;
            /**
             * Session Type
             * @default null
             */
            session_type?: ("customer_support" | "admin_assistant" | "network_diagnostics" | "analytics") | null;
        };
        /** ChatResponse */
        ChatResponse: {
            /** Session Id */
            session_id: string;
            /** Message */
            message: string;
            /**
             * Role
             * @default assistant
             * @constant
             */
            role?: "assistant";
            /**
             * Status
             * @description answered: `message` is the model's reply; waiting_for_person: the session is escalated, so the message was kept for the person who has it (no model call, nothing charged; metadata.message_id is the stored message, to wait for the reply with GET …/history?after=)
             * @default answered
             * @enum {string}
             */
            status?: "answered" | "waiting_for_person";
            /**
             * Function Calls
             * @description the tools called, in order
             */
            function_calls?: components["schemas"]["FunctionCall"][];
            metadata: components["schemas"]["ChatMetadata"];
        };
        /** CreateSessionRequest */
        CreateSessionRequest: {
            /**
             * Session Type
             * @default customer_support
             * @enum {string}
             */
            session_type?: "customer_support" | "admin_assistant" | "network_diagnostics" | "analytics";
            /**
             * Context
             * @default null
             */
            context?: {
                [key: string]: unknown;
            } | null;
            /**
             * Customer Id
             * @default null
             */
            customer_id?: string | null;
        };
        /** ErasureOut */
        ErasureOut: {
            /** Erasure Id */
            erasure_id: string;
            /** User Id */
            user_id: string;
            /**
             * Status
             * @enum {string}
             */
            status: "running" | "done";
            /** Requested At */
            requested_at: string;
            /**
             * Finished At
             * @default null
             */
            finished_at?: string | null;
            /**
             * Sessions
             * @description sessions deleted so far, with every message of each
             */
            sessions: number;
            /**
             * Messages
             * @description messages deleted so far
             */
            messages: number;
            /**
             * Tickets
             * @description tickets deleted so far
             */
            tickets: number;
            /**
             * Day Counters
             * @description the user's own day counters deleted (the tenant's totals stay)
             */
            day_counters: number;
        };
        /**
         * ErrorBody
         * @description Every error the API answers; the fields after code appear only with the errors that carry them.
         */
        ErrorBody: {
            /**
             * Detail
             * @description a sentence a person can act on
             */
            detail: string;
            /**
             * Code
             * @description for programs: which error this is
             */
            code: string;
            /**
             * Field
             * @description invalid_input: the first invalid field
             * @default null
             */
            field?: string | null;
            /**
             * Errors
             * @description invalid_input: every invalid field
             * @default null
             */
            errors?: components["schemas"]["FieldProblem"][] | null;
            /**
             * Limit
             * @description a limit's code: the limit (cents, messages or sessions)
             * @default null
             */
            limit?: number | null;
            /**
             * Used
             * @description a limit's code: how much of it is used
             * @default null
             */
            used?: number | null;
            /**
             * Status
             * @description session_not_active: the session's status
             * @default null
             */
            status?: string | null;
            /**
             * Session Id
             * @description a chat turn that got no answer: the session it was sent in (or started), to send it again there
             * @default null
             */
            session_id?: string | null;
            /**
             * Taken By Name
             * @description escalation_taken: the person who has the session
             * @default null
             */
            taken_by_name?: string | null;
        };
        /** EscalateRequest */
        EscalateRequest: {
            /** Reason */
            reason: string;
            /**
             * Session Id
             * @default null
             */
            session_id?: string | null;
        };
        /** ExportPage */
        ExportPage: {
            /**
             * Sessions
             * @description the caller's sessions, newest first, each with its messages
             */
            sessions: components["schemas"]["ExportedSession"][];
            /**
             * Tickets
             * @description the tickets the model opened for the caller, oldest first, once every session was given
             */
            tickets: components["schemas"]["TicketOut"][];
            /**
             * Next Cursor
             * @description pass as ?cursor= for the next page; absent at the end
             * @default null
             */
            next_cursor?: string | null;
        };
        /** ExportedSession */
        ExportedSession: {
            /** Id */
            id: string;
            /**
             * Session Type
             * @enum {string}
             */
            session_type: "customer_support" | "admin_assistant" | "network_diagnostics" | "analytics";
            /**
             * Status
             * @enum {string}
             */
            status: "active" | "completed" | "escalated" | "abandoned";
            /** Provider */
            provider: string;
            /** Model */
            model: string;
            /** Created At */
            created_at: string;
            /** Updated At */
            updated_at: string;
            /** Message Count */
            message_count: number;
            /** Total Tokens */
            total_tokens: number;
            /**
             * Total Cost
             * @description cents, with decimals
             */
            total_cost: number;
            /**
             * User Rating
             * @default null
             */
            user_rating?: number | null;
            /**
             * Feedback
             * @default null
             */
            feedback?: string | null;
            /**
             * Escalation Reason
             * @default null
             */
            escalation_reason?: string | null;
            /**
             * Escalated At
             * @description when a person was asked for (kept after release)
             * @default null
             */
            escalated_at?: string | null;
            /**
             * Taken By Name
             * @description the person who has the session, once one took it
             * @default null
             */
            taken_by_name?: string | null;
            /**
             * Taken At
             * @default null
             */
            taken_at?: string | null;
            /**
             * Customer Id
             * @default null
             */
            customer_id?: string | null;
            /**
             * Context
             * @default null
             */
            context?: {
                [key: string]: unknown;
            } | null;
            /**
             * Messages
             * @description oldest first
             */
            messages: components["schemas"]["MessageOut"][];
            /**
             * Continued
             * @description its messages go on in the next page, under the same session id: merge them by id
             * @default false
             */
            continued?: boolean;
        };
        /** FeedbackRequest */
        FeedbackRequest: {
            /** Rating */
            rating: number;
            /**
             * Feedback
             * @default null
             */
            feedback?: string | null;
            /**
             * Session Id
             * @default null
             */
            session_id?: string | null;
        };
        /** FieldProblem */
        FieldProblem: {
            /**
             * Field
             * @description dotted path of the field, or body
             */
            field: string;
            /** Message */
            message: string;
        };
        /**
         * FunctionCall
         * @description A tool the model called during the turn, and what came of it.
         */
        FunctionCall: {
            /** Id */
            id: string;
            /**
             * Name
             * @description the tool: create_ticket, escalate_to_human, …
             */
            name: string;
            /**
             * Arguments
             * @description the arguments the model gave, as a JSON object; the text it wrote when that was not a JSON object
             */
            arguments: {
                [key: string]: unknown;
            } | string;
            /**
             * Status
             * @enum {string}
             */
            status: "ok" | "error";
            /**
             * Result
             * @description what the tool returned; on error, {"error": <why>}
             */
            result: {
                [key: string]: unknown;
            };
            /**
             * Truncated
             * @description the arguments or the result were too large or nested too deep to keep whole: `arguments` is the start of the text the model wrote, `result` {"preview": the start of its text}
             * @default false
             */
            truncated?: boolean;
        };
        /**
         * GatewayMessage
         * @description The body API Gateway itself answers with: a missing, invalid or expired token never reaches a function.
         */
        GatewayMessage: {
            /**
             * Message
             * @description "Unauthorized", from the JWT authorizer
             */
            message: string;
        };
        /** HistoryResponse */
        HistoryResponse: {
            /** Session Id */
            session_id: string;
            /** Messages */
            messages: components["schemas"]["MessageOut"][];
            metadata: components["schemas"]["SessionOut"];
            /**
             * Next Cursor
             * @description pass as ?cursor= for the earlier page
             * @default null
             */
            next_cursor?: string | null;
            /**
             * Next After
             * @description with ?after=: more newer messages follow; pass this as ?after= for them
             * @default null
             */
            next_after?: string | null;
        };
        /** MessageOut */
        MessageOut: {
            /** Id */
            id: string;
            /**
             * Role
             * @description user: the customer; assistant: the model; agent: a person of the support team (agent_name)
             * @enum {string}
             */
            role: "user" | "assistant" | "agent";
            /** Content */
            content: string;
            /** Created At */
            created_at: string;
            /** Tokens */
            tokens: number;
            /**
             * Status
             * @description ok; pending while its turn is being answered (or until a crashed turn is swept); failed: no answer, nothing charged
             * @default ok
             * @enum {string}
             */
            status?: "ok" | "pending" | "failed";
            /**
             * Feedback
             * @default null
             */
            feedback?: ("up" | "down") | null;
            /**
             * Feedback Text
             * @default null
             */
            feedback_text?: string | null;
            /**
             * Truncated
             * @description the reply was cut short: the model stopped at the deployment's MAX_TOKENS, or the reply was cut to what MAX_TOKENS allows or a message can hold
             * @default false
             */
            truncated?: boolean;
            /**
             * Function Calls
             * @description a reply: the tools its turn called
             */
            function_calls?: components["schemas"]["FunctionCall"][];
            /**
             * Stopped
             * @description why the turn ended before the model's own answer: `stopped` (the stop route ended a streamed reply; the text is as far as it went), the code of the limit that refused its next model call, max_tool_steps, escalated (a person takes over), taken_by_person (a person took the session while the turn ran: it ran no tool and kept no model text after that, `message`/`content` is empty, and it is charged for what the provider answered), guardrail_intervened (the provider's guardrail answered or cut the reply: the text is what it let through, charged as the provider reports) or a provider error (after tools ran, or cutting a stream short); null otherwise
             * @default null
             */
            stopped?: string | null;
            /**
             * Estimated
             * @description the provider never reported this reply's usage (a stream stopped or cut short): tokens and cost are an upper bound, never more than the turn reserved
             * @default false
             */
            estimated?: boolean;
            /**
             * Agent Name
             * @description role agent: the name of the person who wrote it
             * @default null
             */
            agent_name?: string | null;
            /**
             * Handoff
             * @description role agent: this message marks the person joining (their first reply) or leaving (the session released); `content` says so in a sentence. Markers take no message slot and are not sent to the model
             * @default null
             */
            handoff?: ("joined" | "left") | null;
        };
        /** MessageRatingRequest */
        MessageRatingRequest: {
            /**
             * Rating
             * @enum {string}
             */
            rating: "up" | "down";
            /**
             * Feedback
             * @default null
             */
            feedback?: string | null;
        };
        /**
         * ModelRef
         * @description A model as the deployment routes to it: the provider and the provider's model id.
         */
        ModelRef: {
            /** Provider */
            provider: string;
            /** Model */
            model: string;
        };
        /** ReleaseRequest */
        ReleaseRequest: {
            /**
             * To
             * @description ai: the model answers again (it sees the person's messages); closed: the conversation ends
             * @enum {string}
             */
            to: "ai" | "closed";
            /**
             * Note
             * @default null
             */
            note?: string | null;
        };
        /** SessionCost */
        SessionCost: {
            /** Id */
            id: string;
            /**
             * Session Type
             * @enum {string}
             */
            session_type: "customer_support" | "admin_assistant" | "network_diagnostics" | "analytics";
            /**
             * Status
             * @enum {string}
             */
            status: "active" | "completed" | "escalated" | "abandoned";
            /**
             * Total Cost
             * @description cents, with decimals
             */
            total_cost: number;
            /** Message Count */
            message_count: number;
            /** User Rating */
            user_rating: number | null;
            /** Created At */
            created_at: string;
        };
        /** SessionOut */
        SessionOut: {
            /** Id */
            id: string;
            /**
             * Session Type
             * @enum {string}
             */
            session_type: "customer_support" | "admin_assistant" | "network_diagnostics" | "analytics";
            /**
             * Status
             * @enum {string}
             */
            status: "active" | "completed" | "escalated" | "abandoned";
            /** Provider */
            provider: string;
            /** Model */
            model: string;
            /** Created At */
            created_at: string;
            /** Updated At */
            updated_at: string;
            /** Message Count */
            message_count: number;
            /** Total Tokens */
            total_tokens: number;
            /**
             * Total Cost
             * @description cents, with decimals
             */
            total_cost: number;
            /**
             * User Rating
             * @default null
             */
            user_rating?: number | null;
            /**
             * Feedback
             * @default null
             */
            feedback?: string | null;
            /**
             * Escalation Reason
             * @default null
             */
            escalation_reason?: string | null;
            /**
             * Escalated At
             * @description when a person was asked for (kept after release)
             * @default null
             */
            escalated_at?: string | null;
            /**
             * Taken By Name
             * @description the person who has the session, once one took it
             * @default null
             */
            taken_by_name?: string | null;
            /**
             * Taken At
             * @default null
             */
            taken_at?: string | null;
            /**
             * Customer Id
             * @default null
             */
            customer_id?: string | null;
            /**
             * Context
             * @default null
             */
            context?: {
                [key: string]: unknown;
            } | null;
        };
        /**
         * SessionTypeConfig
         * @description A session type as a new session of it starts: its system prompt, its model and its tools.
         */
        SessionTypeConfig: {
            /** System Prompt */
            system_prompt: string;
            model: components["schemas"]["ModelRef"];
            /** Tools */
            tools: string[];
        };
        /**
         * SessionTypePatch
         * @description A session type's overrides: each field left out (or null) is the deployment's.
         */
        SessionTypePatch: {
            /**
             * System Prompt
             * @description at most 8000 characters
             * @default null
             */
            system_prompt?: string | null;
            /**
             * @description one of the deployment's configured, priced routes
             * @default null
             */
            model?: components["schemas"]["ModelRef"] | null;
            /**
             * Tools
             * @description tool names: the built-ins and the deployment's CUSTOM_TOOLS; [] offers none
             * @default null
             */
            tools?: string[] | null;
        };
        /**
         * StopRequest
         * @description POST /sessions/{id}/stop takes an empty object (`{}`), the session's id again, and how much was shown.
         */
        StopRequest: {
            /**
             * Session Id
             * @default null
             */
            session_id?: string | null;
            /**
             * Deltas Shown
             * @description how many `text-delta` parts of the streaming reply the client had shown when its person pressed Stop (every step's, counted from the reply's `start`): the stored reply keeps the text of exactly those, so a reload shows what was seen; the charge stays what the provider produced. Without it the reply keeps what the stream had sent when it stopped
             * @default null
             */
            deltas_shown?: number | null;
        };
        /** StopResponse */
        StopResponse: {
            /** Session Id */
            session_id: string;
            /**
             * Message Id
             * @description the user message whose turn was asked to stop (its reply ends where it is, marked stopped); null when no turn has run in the session yet. A turn that had already ended is not changed.
             */
            message_id: string | null;
            /**
             * Ended
             * @description true: that turn had already ended (its reply stored, or no answer came), so nothing was changed. false: its reply ends at its next look at the stop (within STOP_CHECK_SECONDS), unless its model finishes first
             * @default false
             */
            ended?: boolean;
        };
        /**
         * TakeRequest
         * @description POST /agent/sessions/{id}/take takes an empty object (`{}`): who takes it is the caller.
         */
        TakeRequest: Record<string, never>;
        /**
         * TenantConfigOut
         * @description A tenant's effective configuration: the deployment's defaults with the tenant's overrides applied.
         */
        TenantConfigOut: {
            /**
             * Daily Cost Limit Cents
             * @description cents per UTC day, the tenant's users together
             */
            daily_cost_limit_cents: number;
            /**
             * User Daily Cost Limit Cents
             * @description cents per user per UTC day; null: no such limit
             */
            user_daily_cost_limit_cents: number | null;
            /**
             * Session Cost Limit Cents
             * @description cents per session
             */
            session_cost_limit_cents: number;
            /** Max Messages Per Session */
            max_messages_per_session: number;
            /** Max Sessions Per User Per Day */
            max_sessions_per_user_per_day: number;
            /**
             * Retention Days
             * @description days a session and its messages are kept after their last write
             */
            retention_days: number;
            /** Session Types */
            session_types: {
                [key: string]: components["schemas"]["SessionTypeConfig"];
            };
        };
        /**
         * TenantConfigPatch
         * @description PATCH /admin/config's body, a JSON merge patch: a field named changes, null puts the deployment's value back,
         *     a field left out stays as it is. The tenant's stored overrides have the same shape, without nulls.
         */
        TenantConfigPatch: {
            /**
             * Daily Cost Limit Cents
             * @default null
             */
            daily_cost_limit_cents?: number | string | null;
            /**
             * User Daily Cost Limit Cents
             * @default null
             */
            user_daily_cost_limit_cents?: number | string | null;
            /**
             * Session Cost Limit Cents
             * @default null
             */
            session_cost_limit_cents?: number | string | null;
            /**
             * Max Messages Per Session
             * @default null
             */
            max_messages_per_session?: number | null;
            /**
             * Max Sessions Per User Per Day
             * @default null
             */
            max_sessions_per_user_per_day?: number | null;
            /**
             * Retention Days
             * @default null
             */
            retention_days?: number | null;
            /**
             * Session Types
             * @description by session type: customer_support, admin_assistant, network_diagnostics, analytics
             * @default null
             */
            session_types?: {
                [key: string]: components["schemas"]["SessionTypePatch"] | null;
            } | null;
        };
        /** TicketOut */
        TicketOut: {
            /** Id */
            id: string;
            /** Session Id */
            session_id: string;
            /** Title */
            title: string;
            /**
             * Priority
             * @enum {string}
             */
            priority: "low" | "normal" | "high" | "urgent";
            /**
             * Status
             * @constant
             */
            status: "open";
            /** Created At */
            created_at: string;
            /**
             * Description
             * @default null
             */
            description?: string | null;
        };
        /**
         * UsageResponse
         * @description The guide's three monitoring questions for one tenant and UTC day.
         */
        UsageResponse: {
            /** Date */
            date: string;
            /** Tenant Id */
            tenant_id: string;
            /**
             * Source
             * @enum {string}
             */
            source: "live" | "rollup";
            /** Total Cost Cents */
            total_cost_cents: number;
            /** Session Count */
            session_count: number;
            /** Total Messages */
            total_messages: number;
            /** Total Tokens */
            total_tokens: number;
            /**
             * Ratings
             * @description user_rating 1-5 -> sessions of the day with that rating
             */
            ratings: {
                [key: string]: number;
            };
            /** Escalations */
            escalations: number;
            /**
             * Message Feedback
             * @description up/down ratings of the day's assistant messages
             */
            message_feedback: {
                [key: string]: number;
            };
            /** Most Expensive Sessions */
            most_expensive_sessions: components["schemas"]["SessionCost"][];
        };
        /** WaitingSessionOut */
        WaitingSessionOut: {
            /** Session Id */
            session_id: string;
            /** User Id */
            user_id: string;
            /**
             * Session Type
             * @enum {string}
             */
            session_type: "customer_support" | "admin_assistant" | "network_diagnostics" | "analytics";
            /**
             * Reason
             * @default null
             */
            reason?: string | null;
            /** Escalated At */
            escalated_at: string;
            /**
             * Waiting Seconds
             * @description since the escalation
             */
            waiting_seconds: number;
            /**
             * Last Customer Message
             * @description the customer's latest message to a person (its first 500 characters)
             * @default null
             */
            last_customer_message?: string | null;
            /**
             * Last Customer Message At
             * @default null
             */
            last_customer_message_at?: string | null;
            /**
             * Taken By
             * @default null
             */
            taken_by?: string | null;
            /**
             * Taken By Name
             * @default null
             */
            taken_by_name?: string | null;
            /**
             * Context
             * @description what the customer's app sent with the session (the page, plan or role it chose to send); null when none, or for an escalation listed before the list kept it
             * @default null
             */
            context?: {
                [key: string]: unknown;
            } | null;
        };
        /**
         * WithdrawRequest
         * @description POST /sessions/{id}/withdraw takes an empty object (`{}`), or the session's id again.
         */
        WithdrawRequest: {
            /**
             * Session Id
             * @default null
             */
            session_id?: string | null;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    chat: {
        parameters: {
            query?: never;
            header?: {
                /** @description a retry with the same key (and body) gets the first answer and is charged once */
                "Idempotency-Key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "message": "How do I reset a customer password?",
                 *       "session_id": null,
                 *       "context": {
                 *         "user_role": "admin"
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["ChatRequest"];
            };
        };
        responses: {
            /** @description Send a message and get the assistant's reply */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ChatResponse"];
                };
            };
            /** @description code: `daily_cost_limit_exceeded`, `daily_session_limit_exceeded`, `session_cost_limit_exceeded`, `session_message_limit_exceeded`, `session_not_active`, `tenant_missing`, `user_daily_cost_limit_exceeded` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "daily_cost_limit_exceeded" | "daily_session_limit_exceeded" | "session_cost_limit_exceeded" | "session_message_limit_exceeded" | "session_not_active" | "tenant_missing" | "user_daily_cost_limit_exceeded";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `session_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_found";
                    };
                };
            };
            /** @description code: `request_in_progress`, `session_changed` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "request_in_progress" | "session_changed";
                    };
                };
            };
            /** @description code: `idempotency_key_reused`, `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "idempotency_key_reused" | "invalid_input";
                    };
                };
            };
            /** @description code: `provider_error` */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "provider_error";
                    };
                };
            };
            /** @description code: `model_not_priced`, `provider_not_configured`, `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "model_not_priced" | "provider_not_configured" | "storage_unavailable";
                    };
                };
            };
            /** @description code: `provider_timeout` */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "provider_timeout";
                    };
                };
            };
        };
    };
    createSession: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "session_type": "admin_assistant",
                 *       "context": {
                 *         "department": "network_ops"
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["CreateSessionRequest"];
            };
        };
        responses: {
            /** @description Start a chat session */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionOut"];
                };
            };
            /** @description code: `daily_session_limit_exceeded`, `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "daily_session_limit_exceeded" | "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    listMySessions: {
        parameters: {
            query?: {
                /** @description sessions per page */
                limit?: number;
                /** @description the next_cursor (or X-Next-Cursor) of this route's previous page, as it came; another route's is 422 */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The caller's sessions, newest first */
            200: {
                headers: {
                    /** @description present when there are older sessions: pass it as ?cursor= */
                    "X-Next-Cursor"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionOut"][];
                };
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    getHistory: {
        parameters: {
            query?: {
                /** @description messages per page */
                limit?: number;
                /** @description the next_cursor (or X-Next-Cursor) of this route's previous page, as it came; another route's is 422 */
                cursor?: string;
                /** @description a message id: only the messages written after it, oldest first, in one Query (to wait for a reply cheaply); not with cursor */
                after?: string;
            };
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A session's messages, oldest first, with the session */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HistoryResponse"];
                };
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `session_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_found";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    submitFeedback: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "rating": 5,
                 *       "feedback": "Very helpful!"
                 *     }
                 */
                "application/json": components["schemas"]["FeedbackRequest"];
            };
        };
        responses: {
            /** @description Rate a session from 1 to 5; it stays open */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionOut"];
                };
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `session_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_found";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    escalate: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "reason": "Complex billing issue requiring human review"
                 *     }
                 */
                "application/json": components["schemas"]["EscalateRequest"];
            };
        };
        responses: {
            /** @description Hand the session to support staff */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionOut"];
                };
            };
            /** @description code: `session_not_active`, `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_active" | "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `session_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_found";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `escalation_not_delivered`, `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "escalation_not_delivered" | "storage_unavailable";
                    };
                };
            };
        };
    };
    withdrawEscalation: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /** @example {} */
                "application/json": components["schemas"]["WithdrawRequest"];
            };
        };
        responses: {
            /** @description Take back a request for a person no one has taken yet */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionOut"];
                };
            };
            /** @description code: `session_not_active`, `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_active" | "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `session_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_found";
                    };
                };
            };
            /** @description code: `escalation_taken` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "escalation_taken";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    stopReply: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /** @example {} */
                "application/json": components["schemas"]["StopRequest"];
            };
        };
        responses: {
            /** @description Stop the reply streaming in the session */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StopResponse"];
                };
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `session_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_found";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    deleteSession: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Delete one of your sessions and every message of it */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `session_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_found";
                    };
                };
            };
            /** @description code: `turn_in_progress` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "turn_in_progress";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    exportMyData: {
        parameters: {
            query?: {
                /** @description sessions per page (a page also ends at about 2 MB of text) */
                limit?: number;
                /** @description the next_cursor of the previous page, as it came */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Everything stored of yours, page by page: sessions with their messages, then tickets */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExportPage"];
                };
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    rateMessage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                session_id: string;
                message_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "rating": "up"
                 *     }
                 */
                "application/json": components["schemas"]["MessageRatingRequest"];
            };
        };
        responses: {
            /** @description Thumbs up or down on one assistant reply */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageOut"];
                };
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `message_not_found`, `session_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "message_not_found" | "session_not_found";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    agentListSessions: {
        parameters: {
            query?: {
                /** @description which sessions: escalated (waiting for a person, or with one) */
                status?: "escalated";
                /** @description sessions per page */
                limit?: number;
                /** @description the next_cursor (or X-Next-Cursor) of this route's previous page, as it came; another route's is 422 */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Staff: the tenant's sessions waiting for a person, oldest first */
            200: {
                headers: {
                    /** @description present when more sessions wait: pass it as ?cursor= */
                    "X-Next-Cursor"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WaitingSessionOut"][];
                };
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `forbidden` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "forbidden";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    agentGetHistory: {
        parameters: {
            query?: {
                /** @description messages per page */
                limit?: number;
                /** @description the next_cursor (or X-Next-Cursor) of this route's previous page, as it came; another route's is 422 */
                cursor?: string;
                /** @description a message id: only the messages written after it */
                after?: string;
            };
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Staff: a session of the tenant that is or was escalated, as its customer sees it */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HistoryResponse"];
                };
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `forbidden` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "forbidden";
                    };
                };
            };
            /** @description code: `session_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_found";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    agentTake: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /** @example {} */
                "application/json": components["schemas"]["TakeRequest"];
            };
        };
        responses: {
            /** @description Staff: take an escalated session without replying */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionOut"];
                };
            };
            /** @description code: `agent_message_limit_exceeded`, `session_not_active`, `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "agent_message_limit_exceeded" | "session_not_active" | "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `forbidden` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "forbidden";
                    };
                };
            };
            /** @description code: `session_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_found";
                    };
                };
            };
            /** @description code: `escalation_taken` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "escalation_taken";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    agentReply: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "content": "Hi, I'm Sam from support: I can see the double charge and have refunded it."
                 *     }
                 */
                "application/json": components["schemas"]["AgentMessageRequest"];
            };
        };
        responses: {
            /** @description Staff: reply to the customer in an escalated session */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageOut"];
                };
            };
            /** @description code: `agent_message_limit_exceeded`, `session_not_active`, `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "agent_message_limit_exceeded" | "session_not_active" | "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `forbidden` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "forbidden";
                    };
                };
            };
            /** @description code: `session_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_found";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    agentRelease: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "to": "ai",
                 *       "note": "Refund issued"
                 *     }
                 */
                "application/json": components["schemas"]["ReleaseRequest"];
            };
        };
        responses: {
            /** @description Staff: hand the session back to the AI, or close it */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionOut"];
                };
            };
            /** @description code: `session_not_active`, `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_active" | "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `forbidden` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "forbidden";
                    };
                };
            };
            /** @description code: `session_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_found";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    eraseUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Admins: erase everything of one user in your tenant, in the background */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErasureOut"];
                };
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `forbidden` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "forbidden";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    getErasure: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                erasure_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Admins: how far an erasure of your tenant got */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErasureOut"];
                };
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `forbidden` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "forbidden";
                    };
                };
            };
            /** @description code: `erasure_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "erasure_not_found";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    adminGetConfig: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Admin: the tenant's limits, retention and session types in force, with an ETag */
            200: {
                headers: {
                    /** @description the stored version of the tenant's configuration: send it as If-Match to change it */
                    ETag?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantConfigOut"];
                };
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `forbidden` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "forbidden";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    adminPatchConfig: {
        parameters: {
            query?: never;
            header?: {
                /** @description the ETag of your last GET (or *: whatever version is stored): 428 without it, 412 once another change came first */
                "If-Match"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "max_messages_per_session": 40,
                 *       "session_types": {
                 *         "customer_support": {
                 *           "system_prompt": "You are Acme's support assistant."
                 *         }
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["TenantConfigPatch"];
            };
        };
        responses: {
            /** @description Admin: change the tenant's configuration with a JSON merge patch */
            200: {
                headers: {
                    /** @description the stored version of the tenant's configuration: send it as If-Match to change it */
                    ETag?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantConfigOut"];
                };
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `forbidden` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "forbidden";
                    };
                };
            };
            /** @description code: `precondition_failed` */
            412: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "precondition_failed";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `precondition_required` */
            428: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "precondition_required";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    getUsage: {
        parameters: {
            query?: {
                /** @description a UTC day, YYYY-MM-DD; today when empty or left out */
                date?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The tenant's figures for a UTC day (admins only) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UsageResponse"];
                };
            };
            /** @description code: `tenant_missing` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "tenant_missing";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `forbidden` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "forbidden";
                    };
                };
            };
            /** @description code: `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "invalid_input";
                    };
                };
            };
            /** @description code: `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "storage_unavailable";
                    };
                };
            };
        };
    };
    chatStream: {
        parameters: {
            query?: never;
            header?: {
                /** @description a retry with the same key (and body) gets the first answer and is charged once */
                "Idempotency-Key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "message": "How do I reset a customer password?",
                 *       "session_id": null
                 *     }
                 */
                "application/json": components["schemas"]["ChatRequest"];
            };
        };
        responses: {
            /** @description Send a message and get the reply as it is written (AI SDK UI message stream v1) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": unknown;
                };
            };
            /** @description code: `daily_cost_limit_exceeded`, `daily_session_limit_exceeded`, `session_cost_limit_exceeded`, `session_message_limit_exceeded`, `session_not_active`, `tenant_missing`, `user_daily_cost_limit_exceeded` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "daily_cost_limit_exceeded" | "daily_session_limit_exceeded" | "session_cost_limit_exceeded" | "session_message_limit_exceeded" | "session_not_active" | "tenant_missing" | "user_daily_cost_limit_exceeded";
                    };
                };
            };
            /** @description code: `unauthorized` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": (components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "unauthorized";
                    }) | components["schemas"]["GatewayMessage"];
                };
            };
            /** @description code: `session_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "session_not_found";
                    };
                };
            };
            /** @description code: `request_in_progress`, `session_changed` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "request_in_progress" | "session_changed";
                    };
                };
            };
            /** @description code: `idempotency_key_reused`, `invalid_input` */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "idempotency_key_reused" | "invalid_input";
                    };
                };
            };
            /** @description code: `model_not_priced`, `provider_not_configured`, `storage_unavailable` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"] & {
                        /** @enum {unknown} */
                        code?: "model_not_priced" | "provider_not_configured" | "storage_unavailable";
                    };
                };
            };
        };
    };
    docsOpenapiJson: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description This document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": Record<string, never>;
                };
            };
        };
    };
    docsDocs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Swagger UI */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    docsRedoc: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description ReDoc */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    docsDocsAssetsAsset: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                asset: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A script or style sheet of the documentation pages */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/javascript": string;
                    "text/css": string;
                };
            };
            /** @description code: `asset_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
}
