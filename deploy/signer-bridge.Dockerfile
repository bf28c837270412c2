# signer-bridge image. Build from the repository root:
#   docker build -f deploy/signer-bridge.Dockerfile -t lnd-web-signer/signer-bridge .
# Same toolchain as the tested builds (rustc 1.95).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p lnd-web-signer-native --bin signer-bridge

FROM debian:bookworm-slim
COPY --from=build /src/target/release/signer-bridge /usr/local/bin/signer-bridge
ENTRYPOINT ["/usr/local/bin/signer-bridge"]
