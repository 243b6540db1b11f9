import { describe, expect, it, vi } from "vitest";
import { defaultStorage, StoredSession, storageKeyFor, type SessionStorage } from "./session-storage";
import { MemoryStorage } from "./testing/fake-transport";

/** Storage that throws on every call, as it does where it is blocked (sandboxed frames, some privacy settings). */
const blocked: SessionStorage = {
  getItem: () => {
    throw new DOMException("The operation is insecure.", "SecurityError");
  },
  setItem: () => {
    throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
  },
  removeItem: () => {
    throw new DOMException("The operation is insecure.", "SecurityError");
  },
};

describe("storageKeyFor", () => {
  it("names a key per session type, so each type resumes its own conversation", () => {
    expect(storageKeyFor("customer_support")).toBe("ai-chat:session:customer_support");
    expect(storageKeyFor("analytics")).not.toBe(storageKeyFor("customer_support"));
  });
});

describe("StoredSession", () => {
  it("keeps, reads and forgets the session id under its key, and nothing under another", () => {
    const storage = new MemoryStorage();
    const stored = new StoredSession(storage, "k");
    expect(stored.read()).toBeNull();
    stored.keep("S1");
    expect(stored.read()).toBe("S1");
    expect([...storage.items]).toEqual([["k", "S1"]]);
    expect(new StoredSession(storage, "other").read()).toBeNull();
    stored.forget();
    expect(stored.read()).toBeNull();
    expect(storage.items.size).toBe(0);
  });

  it("reads an empty id as none", () => {
    const storage = new MemoryStorage();
    storage.setItem("k", "");
    expect(new StoredSession(storage, "k").read()).toBeNull();
  });

  it("never throws when storage does, and then keeps nothing", () => {
    const stored = new StoredSession(blocked, "k");
    expect(() => stored.keep("S1")).not.toThrow();
    expect(stored.read()).toBeNull();
    expect(() => stored.forget()).not.toThrow();
  });

  it("keeps nothing with no storage", () => {
    const stored = new StoredSession(null, "k");
    stored.keep("S1");
    expect(stored.read()).toBeNull();
    stored.forget();
  });
});

describe("defaultStorage", () => {
  it("is the page's localStorage, and null where reading localStorage throws", () => {
    expect(defaultStorage()).toBe(window.localStorage);
    vi.spyOn(window, "localStorage", "get").mockImplementation(() => {
      throw new DOMException("The operation is insecure.", "SecurityError");
    });
    expect(defaultStorage()).toBeNull();
  });
});
