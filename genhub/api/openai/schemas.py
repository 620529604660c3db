"""What OpenAI clients send and receive: the request bodies (with the fields
GenHub cannot honour accepted and ignored, or refused where they would change
the meaning) and the response shapes, for validation and the OpenAPI schema."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from genhub.errors import InvalidInput
from genhub.params import strings_in

Unused = JsonValue | None  # accepted and ignored (see docs/openai.md)


class OpenAIRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def only_storable_text(cls, data: Any) -> Any:
        # A lone surrogate or a NUL cannot be stored or looked up in the database;
        # refuse it here, naming the field, instead of failing later.
        if isinstance(data, dict):
            for path, text in strings_in(data):
                if "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text):
                    raise InvalidInput(
                        str(path[0]),
                        "This text holds a NUL character or a lone UTF-16 surrogate; "
                        "send valid Unicode text.",
                        at=path[1:],
                    )
        return data


def refuse(field: str, reason: str) -> InvalidInput:
    return InvalidInput(field, f"GenHub does not support `{field}`: {reason}")


ModelName = Field(min_length=1, max_length=100, description="A model id from GET /v1/models.")
MaxTokens = Field(None, ge=1, le=4096, description="At most this many new tokens.")
Temperature = Field(None, ge=0.0, le=2.0, description="Default: the model's own.")
TopP = Field(None, ge=0.0, le=1.0, description="0 picks the likeliest token, like temperature 0.")
Seed = Field(None, ge=0, le=2**32 - 1, description="Choice i uses seed + i.")
Stop = Field(None, description="Up to 8 strings; generation ends before any of them.")
ChoiceCount = Field(1, ge=1, le=8, description="Choices, each one GenHub job.")


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_usage: bool | None = None
    include_obfuscation: bool | None = None  # no obfuscation is sent: ignored


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=50)
    text: str | None = None


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None
    name: str | None = Field(None, max_length=256)  # ignored
    refusal: str | None = None  # ignored
    tool_calls: list[JsonValue] | None = None
    tool_call_id: str | None = None
    function_call: Unused = None
    audio: Unused = None


class ChatCompletionRequest(OpenAIRequest):
    model: str = ModelName
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=200)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    n: int | None = ChoiceCount
    max_tokens: int | None = MaxTokens
    max_completion_tokens: int | None = MaxTokens
    temperature: float | None = Temperature
    top_p: float | None = TopP
    stop: str | list[str] | None = Stop
    seed: int | None = Seed
    # Refused when set to something that changes the answer (see `refuse_unsupported`).
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    tools: list[JsonValue] | None = None
    tool_choice: Unused = None
    functions: list[JsonValue] | None = None
    function_call: Unused = None
    response_format: dict[str, JsonValue] | None = None
    modalities: list[str] | None = None
    audio: Unused = None
    web_search_options: Unused = None
    # Accepted and ignored.
    frequency_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    presence_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = None
    user: str | None = None
    store: bool | None = None
    metadata: dict[str, str] | None = None
    service_tier: str | None = None
    parallel_tool_calls: bool | None = None
    reasoning_effort: str | None = None
    verbosity: str | None = None
    prediction: Unused = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None

    @model_validator(mode="after")
    def refuse_unsupported(self) -> "ChatCompletionRequest":
        if self.logprobs:
            raise refuse("logprobs", "token log probabilities are not reported.")
        if self.tools:
            raise refuse("tools", "tool and function calling are not available.")
        if self.functions:
            raise refuse("functions", "tool and function calling are not available.")
        if self.function_call not in (None, "none"):
            raise refuse("function_call", "tool and function calling are not available.")
        if self.tool_choice not in (None, "none", "auto"):
            raise refuse("tool_choice", "tool and function calling are not available.")
        if self.response_format and self.response_format.get("type") != "text":
            raise refuse("response_format", "only plain text answers; JSON mode is not enforced.")
        if self.modalities and set(self.modalities) != {"text"}:
            raise refuse("modalities", "chat answers are text only.")
        if self.audio is not None:
            raise refuse("audio", "chat answers are text only.")
        if self.web_search_options is not None:
            raise refuse("web_search_options", "GenHub models do not search the web.")
        for index, message in enumerate(self.messages):
            if message.role in ("tool", "function") or message.tool_calls:
                raise InvalidInput(
                    "messages",
                    "GenHub does not support tool or function messages: tool calling "
                    "is not available.",
                    at=(index, "role"),
                )
            if message.function_call is not None or message.audio is not None:
                raise InvalidInput(
                    "messages", "Only text messages are supported.", at=(index, "content")
                )
            if isinstance(message.content, list):
                for part_index, part in enumerate(message.content):
                    if part.type != "text" or part.text is None:
                        raise InvalidInput(
                            "messages",
                            f"GenHub's chat models read text only; a `{part.type}` content "
                            "part is not supported (send parts of type `text`).",
                            at=(index, "content", part_index),
                        )
        return self


class CompletionRequest(OpenAIRequest):
    model: str = ModelName
    prompt: str | list[str] = Field(description="Text to continue; a list makes one per prompt.")
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    n: int | None = ChoiceCount
    max_tokens: int | None = Field(16, ge=1, le=4096, description="16, as OpenAI's default.")
    temperature: float | None = Temperature
    top_p: float | None = TopP
    stop: str | list[str] | None = Stop
    seed: int | None = Seed
    # Refused when set to something that changes the answer.
    echo: bool | None = None
    suffix: str | None = None
    logprobs: int | None = None
    best_of: int | None = None
    # Accepted and ignored.
    frequency_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    presence_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = None
    user: str | None = None

    @model_validator(mode="after")
    def refuse_unsupported(self) -> "CompletionRequest":
        if self.echo:
            raise refuse("echo", "the prompt is not repeated in the answer.")
        if self.suffix:
            raise refuse("suffix", "inserting text before a suffix is not available.")
        if self.logprobs is not None:
            raise refuse("logprobs", "token log probabilities are not reported.")
        if self.best_of is not None and self.best_of != (self.n or 1):
            raise refuse("best_of", "every generated choice is returned; use `n`.")
        prompts = [self.prompt] if isinstance(self.prompt, str) else self.prompt
        if not prompts:
            raise InvalidInput("prompt", "Give at least one prompt.")
        if len(prompts) * (self.n or 1) > 8:
            raise InvalidInput("n", "At most 8 choices in all (prompts × n), each one job.")
        return self


class ImageRequest(OpenAIRequest):
    prompt: str = Field(min_length=1, description="What the image should show.")
    model: str | None = Field(None, min_length=1, max_length=100, description="Default: GenHub's.")
    n: int | None = Field(1, ge=1, le=8, description="Images, made as one batch in one job.")
    size: str | None = Field(
        None, max_length=20, description='"WIDTHxHEIGHT" in pixels (multiples of 8), or "auto".'
    )
    response_format: Literal["url", "b64_json"] | None = "url"
    output_format: Literal["png"] | None = None  # GenHub stores PNG only
    # Accepted and ignored.
    quality: str | None = None
    style: str | None = None
    user: str | None = None
    moderation: str | None = None
    background: Literal["auto", "opaque"] | None = None


# --- responses -----------------------------------------------------------------


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorOut(BaseModel):
    error: ErrorDetail


# The errors every job-making endpoint may answer with, for the OpenAPI schema.
ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 409, 413, 429, 500, 503, 504)}


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class ChatChoice(BaseModel):
    index: int
    message: ChatMessageOut
    logprobs: None = None
    finish_reason: str


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    system_fingerprint: None = None


class CompletionChoice(BaseModel):
    index: int
    text: str
    logprobs: None = None
    finish_reason: str


class Completion(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage
    system_fingerprint: None = None


class ImageOut(BaseModel):
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class ImagesResponse(BaseModel):
    created: int
    data: list[ImageOut]
