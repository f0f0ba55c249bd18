"""LangChain: with_structured_output into a pydantic model."""

from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field


class Person(BaseModel):
    name: str = Field(description="The person's name")
    age: int
    hobbies: list[str]


llm = ChatOpenAI(model="gpt-4o-mini")
extract = llm.with_structured_output(Person)
person = extract.invoke("Ada is 36 and likes chess and rowing.")
print(type(person).__name__, person)
