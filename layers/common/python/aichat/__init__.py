"""Serverless AI chat: the shared layer behind every function."""
