"""Pydantic AI: an `openai:` model (the Responses API) with a tool and a pydantic output_type.
OPENAI_BASE_URL / OPENAI_API_KEY come from the environment."""

from pydantic import BaseModel
from pydantic_ai import Agent


class Weather(BaseModel):
    city: str
    temperature_c: float
    summary: str


agent = Agent(
    "openai:gpt-4o-mini",
    output_type=Weather,
    instructions="Look up the weather with the tool, then report it.",
)


@agent.tool_plain
def get_weather(city: str) -> str:
    """Return the current weather in a city."""
    return f"It is 22 degrees and sunny in {city}."


result = agent.run_sync("What's the weather in Paris?")
print(result.output)
print(result.usage)
