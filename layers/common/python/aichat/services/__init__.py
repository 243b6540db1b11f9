"""What the non-chat routes call: a customer's session routes, the staff's handoff routes, history, monitoring."""
