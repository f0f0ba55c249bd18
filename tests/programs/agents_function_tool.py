"""OpenAI Agents SDK: an agent with a function tool, run synchronously on the default model API
(the Responses API). OPENAI_BASE_URL / OPENAI_API_KEY come from the environment.

Tracing is turned off: otherwise a background thread would POST spans to
https://api.openai.com/v1/traces/ingest (env alternative: OPENAI_AGENTS_DISABLE_TRACING=1).
"""

from agents import Agent, Runner, function_tool, set_tracing_disabled

set_tracing_disabled(True)


@function_tool
def get_weather(city: str) -> str:
    """Return the current weather in a city."""
    return f"It is 22 degrees and sunny in {city}."


agent = Agent(
    name="Weather assistant",
    instructions="Answer weather questions using the get_weather tool.",
    model="gpt-4o-mini",
    tools=[get_weather],
)

result = Runner.run_sync(agent, "What's the weather in Paris?")
print(result.final_output)
