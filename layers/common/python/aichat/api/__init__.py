"""The HTTP and streaming edges: requests and replies, routes, OpenAPI, the stream's app and token checks."""
