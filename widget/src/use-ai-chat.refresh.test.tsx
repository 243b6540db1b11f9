import type { ReactNode } from "react";
import { expect, it } from "vitest";
import type { ChatClient } from "./chat-client";
import { FakeTransport, MemoryStorage } from "./testing/fake-transport";

// Fast Refresh (a developer saves the file of a component that uses the hook) is the case where React throws away
// the component's useMemo caches and keeps its refs and state. The runtime must be in place before react-dom loads,
// so everything that imports react-dom is imported after it (each test file has its own modules).
it("keeps the same client when the component using the hook is edited and hot-refreshed", async () => {
  const refresh = await import("react-refresh/runtime");
  refresh.injectIntoGlobalHook(globalThis);
  const { act, render } = await import("@testing-library/react");
  const { useAIChat } = await import("./use-ai-chat");

  const transport = new FakeTransport();
  const storage = new MemoryStorage();
  const clients: ChatClient[] = [];
  let send: (text: string) => Promise<unknown> = async () => undefined;

  function Chat(): ReactNode {
    const chat = useAIChat({ transport, storage });
    clients.push(chat.client);
    send = chat.sendMessage;
    return <p>{chat.chatHistory.length} messages</p>;
  }
  refresh.register(Chat, "Chat");
  const view = render(<Chat />);
  await act(async () => {
    await send("hello");
  });
  expect(view.container.textContent).toBe("2 messages");

  // The edited file's component: the same hooks, other output.
  function EditedChat(): ReactNode {
    const chat = useAIChat({ transport, storage });
    clients.push(chat.client);
    return <p>{chat.chatHistory.length} messages (edited)</p>;
  }
  refresh.register(EditedChat, "Chat");
  await act(async () => {
    refresh.performReactRefresh();
  });

  expect(view.container.textContent).toBe("2 messages (edited)");
  expect(new Set(clients).size).toBe(1);
  expect(transport.callsOf("history")).toHaveLength(0); // nothing was reloaded: the conversation never left memory
});
