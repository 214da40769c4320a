# vLLM for Airlock model servers: the upstream OpenAI-compatible server, pinned by digest,
# run as a non-root user. Mirror the result into the stack's registry for airgapped stacks.
#   docker build -f images/vllm.Dockerfile -t $REGISTRY/vllm-openai:v0.14.0 images/
FROM vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin vllm
USER 10001:10001
# HF_HOME points at the model cache volume the Deployment mounts.
ENV HF_HOME=/models/.cache/huggingface VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
ENTRYPOINT ["python3", "-m", "vllm.entrypoints.openai.api_server"]
