"""The runtime of a call, above the tools and below the evals.

- `worker`: the media-server side (LiveKit `AgentServer`, prewarm, job entrypoint)
- `config`: every environment variable, read in one place (`Settings`)
- `brain/`: which engines answer a call, as data, and how they are built and chosen
- `call`: one call's assembly (brain + order store + tool runtime + the sample agent)
- `coffee_agent`: the sample `Agent` (instructions, greeting, tools bound)
- `side_channel/`: what a call leaves behind (transcript, latency), from session events only

May import: `tools` (runtime and domain), livekit and its plugins. Never imports `evals`.
"""
