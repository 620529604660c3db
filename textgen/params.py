"""Text generation params: one schema for the REST body, the web form and the worker."""

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from genhub.params import GenerationParams
from genhub.prompts import Prompt, check_prompt


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=1_000_000)


class TextParams(GenerationParams):
    prompt: Prompt | None = Field(
        None, description="Plain text to continue. Give this or `messages`."
    )
    messages: list[ChatMessage] | None = Field(
        None, max_length=200, description="A chat, formatted with the model's chat template."
    )
    max_new_tokens: int = Field(256, ge=1, le=4096)
    temperature: float = Field(0.7, ge=0.0, le=2.0, description="0 picks the likeliest token.")
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    top_k: int = Field(50, ge=0, le=1000, description="0 turns top-k off.")
    repetition_penalty: float = Field(1.0, ge=0.5, le=2.0)
    stop: list[str] = Field(
        default_factory=list, max_length=8, description="Generation ends before any of these."
    )
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Same seed, same text.")
    continue_final_message: bool = Field(
        False,
        description="The last of `messages` is the assistant's and the model goes on "
        "writing it (no new turn): to continue an answer that was cut off.",
    )
    conversation: UUID | None = Field(
        None,
        description="A conversation's id (POST /api/v1/conversations): give the new user "
        "message as `prompt`; it is appended, the model sees the whole conversation (its "
        "oldest turns left out when it does not fit the model's context, and the answer "
        "says so), and the answer is appended once the job succeeds.",
    )

    @classmethod
    def work(cls, params: dict[str, Any]) -> float:
        # The token budget: a job runs for about as many steps as it may make.
        return float(params.get("max_new_tokens") or 256)

    @field_validator("stop")
    @classmethod
    def stop_strings_not_empty(cls, stop: list[str]) -> list[str]:
        if any(not s or len(s) > 100 for s in stop):
            raise ValueError("each stop string must be 1 to 100 characters long")
        if any("\x00" in s for s in stop):
            raise ValueError("a stop string contains a NUL character (\\u0000)")
        return stop

    @model_validator(mode="after")
    def prompt_or_messages(self) -> "TextParams":
        return self.check_prompt_or_messages()

    def check_prompt_or_messages(self) -> "TextParams":
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of `prompt` or `messages`")
        if self.messages is not None:
            if not self.messages:
                raise ValueError("`messages` must hold at least one message")
            check_prompt("".join(m.content for m in self.messages))
        if self.continue_final_message and (
            not self.messages or self.messages[-1].role != "assistant"
        ):
            raise ValueError(
                "`continue_final_message` needs `messages` that end with an assistant message"
            )
        return self

    def display_prompt(self) -> str:
        if self.prompt is not None:
            return self.prompt
        users = [m.content for m in self.messages or [] if m.role == "user"]
        return users[-1] if users else (self.messages or [])[-1].content
