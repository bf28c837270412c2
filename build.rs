//! Generates the wire types from `proto/` with protox (pure Rust, no protoc).
//! Messages for every file; the grpc-web client stub for the bridge service.
//! Servers and the native clients are generated in the `native` crate.
//! With the `json` feature, pbjson-build also generates the protojson
//! (serde) mapping of the stream messages from the same descriptor set
//! (`src/json.rs`).
//!
//! Messages that carry secrets get no derived `Debug` (it would print the
//! bytes); `src/proto.rs` implements a redacting one for each.

/// Messages with secret fields: a pre-generated MuSig2 secret nonce, an ECDH
/// shared key.
const SECRET_MESSAGES: [&str; 2] = [
    ".signrpc.MuSig2SessionRequest",
    ".signrpc.SharedKeyResponse",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/signrpc.proto",
        "proto/walletrpc.proto",
        "proto/watchonly.proto",
        "proto/bridge.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"])?;
    #[cfg(feature = "json")]
    protojson(&fds)?;
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        .build_transport(false)
        .skip_debug(SECRET_MESSAGES)
        .compile_fds(fds)?;
    Ok(())
}

/// `serde` impls in lnd's protojson form for the packages of the stream
/// (`<package>.serde.rs` in `OUT_DIR`, included by `src/proto.rs`).
#[cfg(feature = "json")]
fn protojson(fds: &prost_types::FileDescriptorSet) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = pbjson_build::Builder::new();
    for file in &fds.file {
        builder.register_file_descriptor(file.clone());
    }
    builder.build(&[".signrpc", ".walletrpc", ".watchonlyrpc"])?;
    Ok(())
}
