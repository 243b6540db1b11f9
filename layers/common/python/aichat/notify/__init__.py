"""What the layer tells the outside: domain events on EventBridge, and support staff alerted by SNS."""
