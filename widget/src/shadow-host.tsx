import { useEffect, useState, type ReactNode } from "react";
import { createPortal } from "react-dom";

/**
 * Renders its children in an open shadow root on an element appended to document.body: the page's styles cannot
 * reach the widget, the widget's cannot reach the page, and no transformed or clipped ancestor can trap the
 * fixed-position panel. Renders nothing on the server and until mounted.
 */
export function ShadowHost({ css, children }: { css: string; children: ReactNode }): ReactNode {
  const [root, setRoot] = useState<ShadowRoot | null>(null);

  useEffect(() => {
    const host = document.createElement("div");
    host.setAttribute("data-ai-chat-widget", "");
    // Inline and important, so no page rule (div { margin … }) can give the host a box in the page's layout.
    host.style.setProperty("all", "initial", "important");
    document.body.appendChild(host);
    setRoot(host.attachShadow({ mode: "open" }));
    return () => {
      host.remove();
      setRoot(null);
    };
  }, []);

  if (!root) return null;
  return createPortal(
    <>
      <style>{css}</style>
      {children}
    </>,
    root,
  );
}
