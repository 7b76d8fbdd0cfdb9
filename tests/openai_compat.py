"""The official OpenAI Python client against a running `strictly serve`.

Usage: python3 tests/openai_compat.py http://127.0.0.1:8080/v1
(OPENAI_API_KEY must hold a key the server accepts, or anything when keys
are off.) Exits non-zero on the first failed check.
"""

import json
import re
import sys

import openai
from pydantic import BaseModel


class Ticket(BaseModel):
    customer_name: str
    order_id: str
    urgency: str


EMAIL = (
    "From: Priya Raman\n"
    "I ordered the Aurora desk lamp (order #A-55812) and was charged twice. "
    "Please refund the duplicate charge urgently."
)


def main(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, max_retries=0, timeout=600)

    models = client.models.list().data
    assert len(models) == 1, models
    model = models[0].id
    print("model:", model)

    # Structured output parsed into a pydantic model by the client itself.
    completions = client.chat.completions
    parse = getattr(completions, "parse", None) or client.beta.chat.completions.parse
    parsed = parse(
        model=model,
        messages=[
            {"role": "system", "content": "Extract the ticket fields from the email."},
            {"role": "user", "content": EMAIL},
        ],
        response_format=Ticket,
        max_tokens=120,
    )
    ticket = parsed.choices[0].message.parsed
    assert isinstance(ticket, Ticket), parsed
    assert parsed.choices[0].finish_reason in ("stop", "length")
    print("parsed:", ticket)

    # json_object mode.
    completion = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Give the order id of: " + EMAIL}],
        response_format={"type": "json_object"},
        max_tokens=60,
    )
    obj = json.loads(completion.choices[0].message.content)
    assert isinstance(obj, dict), obj
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    print("json_object:", obj)

    # Streaming with a schema: the concatenated deltas are the JSON answer.
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Who wrote this email? " + EMAIL}],
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "author",
                "strict": True,
                "schema": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "maxLength": 60}},
                    "required": ["name"],
                    "additionalProperties": False,
                },
            },
        },
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=60,
    )
    text, finish, usage = "", None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    assert "name" in json.loads(text), text
    assert finish in ("stop", "length"), finish
    assert usage is not None and usage.completion_tokens > 0
    print("stream:", text, finish)

    # Free text cut by max_tokens says so.
    short = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Write a long story about a lighthouse."}],
        max_tokens=5,
    )
    assert short.choices[0].finish_reason == "length", short
    assert short.usage.completion_tokens == 5, short.usage

    # Errors surface as the client's typed exceptions with the server's message.
    try:
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "x"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "bad", "schema": {"$ref": "https://example.com/n.json"}},
            },
        )
    except openai.BadRequestError as err:
        assert err.body["type"] == "invalid_schema", err.body
        print("bad schema:", err.body["message"])
    else:
        raise AssertionError("a schema with a remote $ref was accepted")

    # vLLM's and llama.cpp's constraint fields pass through `extra_body`.
    mood = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Is 'I love this phone' positive or negative?"}],
        extra_body={"structured_outputs": {"choice": ["positive", "negative"]}},
    )
    assert mood.choices[0].message.content in ("positive", "negative"), mood
    day = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Which date was New Year's Day 2024?"}],
        extra_body={"grammar": "@iso_date"},
    )
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", day.choices[0].message.content), day
    print("constrained text:", mood.choices[0].message.content, day.choices[0].message.content)

    print("all OpenAI client checks passed")


if __name__ == "__main__":
    main(sys.argv[1])
