"""LiteLLM async: acompletion() plain and streamed (goes through litellm's aiohttp transport by default)."""

import asyncio
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm

messages = [{"role": "user", "content": "Say hello in French."}]


async def main() -> None:
    response = await litellm.acompletion(model="openai/gpt-4o-mini", messages=messages)
    print(response.choices[0].message.content)
    stream = await litellm.acompletion(model="openai/gpt-4o-mini", messages=messages, stream=True)
    async for chunk in stream:
        print(chunk.choices[0].delta.content or "", end="", flush=True)
    print()


asyncio.run(main())
