"""A chat turn: its key claim and replay, the model calls and tools in a loop, and its settlement."""
