"""LangChain: ChatOpenAI routed to the Responses API (use_responses_api=True), invoke + stream."""

from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o-mini", use_responses_api=True)
print(llm.invoke("Say hello.").text)
for chunk in llm.stream("Count to three."):
    print(chunk.text, end="", flush=True)
print()
