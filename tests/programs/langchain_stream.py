"""LangChain: stream tokens from ChatOpenAI."""

from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o-mini")
for chunk in llm.stream("Write one sentence about the sea."):
    print(chunk.content, end="", flush=True)
print()
