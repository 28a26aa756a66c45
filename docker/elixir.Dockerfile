# The example Elixir application as a release image.
# Build from the repository root: docker build -f docker/elixir.Dockerfile -t beamlink/elixir-app .

FROM elixir:1.14-otp-25 AS build
ENV MIX_ENV=prod
WORKDIR /app
COPY examples/elixir_app/ .
RUN mix release --overwrite

FROM debian:bookworm-slim
# Debian's security updates replace exact versions; pinning them would break rebuilds.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libstdc++6 libncurses6 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --home-dir /app app
WORKDIR /app
COPY --from=build --chown=app:app /app/_build/prod/rel/app /app
USER 10001:10001
ENV HOME=/app
EXPOSE 4369 9000
ENTRYPOINT ["/app/bin/app"]
CMD ["start"]
