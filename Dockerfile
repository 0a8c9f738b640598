# The loadgen image: a multi-stage build on the official Swift image, with the slim Swift runtime image
# (no compiler) to run it. Build from the repository root:
#   docker build -t loadgen:latest .
# For an embedded target (`"target": {"embedded": ...}`) the image would also need python3; sharded runs
# send to a URL, so it is left out.

FROM swift:6.3-noble AS build
WORKDIR /src
# The manifest first, so that a change to the sources does not invalidate the dependency-free resolve layer.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
RUN swift build -c release --product loadgen \
    && install -D "$(swift build -c release --show-bin-path)/loadgen" /out/loadgen

FROM swift:6.3-noble-slim
RUN useradd --system --uid 10001 --no-create-home loadgen
COPY --from=build /out/loadgen /usr/local/bin/loadgen
USER 10001
ENTRYPOINT ["loadgen"]
CMD ["--help"]
