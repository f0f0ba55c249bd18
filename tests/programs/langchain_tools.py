"""LangChain: bind_tools, run the tool the model asked for, send the result back."""

from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI


@tool
def get_weather(city: str) -> str:
    """Return the current weather in a city."""
    return f"It is 22 degrees and sunny in {city}."


llm = ChatOpenAI(model="gpt-4o-mini").bind_tools([get_weather])
messages = [HumanMessage("What's the weather in Paris?")]
ai = llm.invoke(messages)
assert ai.tool_calls, "the model did not call the tool"
messages.append(ai)
for call in ai.tool_calls:
    result = get_weather.invoke(call["args"])
    messages.append(ToolMessage(result, tool_call_id=call["id"]))
final = llm.invoke(messages)
print("tool calls:", ai.tool_calls)
print("answer:", final.content)
