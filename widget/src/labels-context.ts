/** The labels a component's parts read, given once at its root instead of passed through each part's props. */
import { createContext, useContext } from "react";
import { en, type Labels } from "./labels";

export const LabelsContext = createContext<Labels>(en);

/** The labels of the widget or inbox this part is in. */
export function useLabels(): Labels {
  return useContext(LabelsContext);
}
