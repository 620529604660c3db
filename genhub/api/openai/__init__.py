"""OpenAI-compatible endpoints under /v1, in OpenAI's request, response and error
shapes. Every request runs as ordinary GenHub jobs (history, cancel, quotas);
the tokens come from the worker through the channel layer. See docs/openai.md."""
