//! gRPC service code for the native hosts: the WatchOnly stream (client for
//! the signer, server for the simulator) and the SignerBridge service (server
//! for signer-bridge, client for tests). Message types come from the core
//! crate via `extern_path`, so there is one definition of every message.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "../proto/signrpc.proto",
        "../proto/walletrpc.proto",
        "../proto/watchonly.proto",
        "../proto/bridge.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["../proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .extern_path(".signrpc", "::lnd_web_signer::proto::signrpc")
        .extern_path(".walletrpc", "::lnd_web_signer::proto::walletrpc")
        .extern_path(
            ".watchonlyrpc.SignCoordinatorRequest",
            "::lnd_web_signer::proto::watchonlyrpc::SignCoordinatorRequest",
        )
        .extern_path(
            ".watchonlyrpc.SignCoordinatorResponse",
            "::lnd_web_signer::proto::watchonlyrpc::SignCoordinatorResponse",
        )
        .extern_path(
            ".watchonlyrpc.SignerError",
            "::lnd_web_signer::proto::watchonlyrpc::SignerError",
        )
        .extern_path(
            ".watchonlyrpc.SignerRegistration",
            "::lnd_web_signer::proto::watchonlyrpc::SignerRegistration",
        )
        .extern_path(
            ".watchonlyrpc.RegistrationResponse",
            "::lnd_web_signer::proto::watchonlyrpc::RegistrationResponse",
        )
        .extern_path(
            ".watchonlyrpc.RegistrationComplete",
            "::lnd_web_signer::proto::watchonlyrpc::RegistrationComplete",
        )
        .extern_path(
            ".signerbridge.AttachRequest",
            "::lnd_web_signer::proto::signerbridge::AttachRequest",
        )
        .extern_path(
            ".signerbridge.AttachEvent",
            "::lnd_web_signer::proto::signerbridge::AttachEvent",
        )
        .extern_path(
            ".signerbridge.ReplyRequest",
            "::lnd_web_signer::proto::signerbridge::ReplyRequest",
        )
        .extern_path(
            ".signerbridge.ReplyBatchRequest",
            "::lnd_web_signer::proto::signerbridge::ReplyBatchRequest",
        )
        .extern_path(
            ".signerbridge.ReplyAck",
            "::lnd_web_signer::proto::signerbridge::ReplyAck",
        )
        .compile_fds(fds)?;
    Ok(())
}
