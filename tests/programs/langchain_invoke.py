"""LangChain: a plain ChatOpenAI.invoke (OPENAI_BASE_URL / OPENAI_API_KEY from the environment)."""

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o-mini", temperature=0)
reply = llm.invoke(
    [
        SystemMessage("You are a terse assistant."),
        HumanMessage("Say hello in French."),
    ]
)
print(reply.content)
print(reply.usage_metadata)
