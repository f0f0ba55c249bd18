"""OpenAI Agents SDK on the Chat Completions API (set_default_openai_api), with a pydantic output_type."""

from agents import Agent, Runner, function_tool, set_default_openai_api, set_tracing_disabled
from pydantic import BaseModel

set_tracing_disabled(True)
set_default_openai_api("chat_completions")


class Weather(BaseModel):
    city: str
    summary: str


@function_tool
def get_weather(city: str) -> str:
    """Return the current weather in a city."""
    return f"It is 22 degrees and sunny in {city}."


agent = Agent(
    name="Weather assistant",
    instructions="Use get_weather, then answer.",
    model="gpt-4o-mini",
    tools=[get_weather],
    output_type=Weather,
)
print(Runner.run_sync(agent, "What's the weather in Paris?").final_output)
