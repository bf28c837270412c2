// Test fixture of native/tests/liveness.rs: a watch-only node on grpc-go
// (lnd's gRPC library, at lnd's version) with lnd's keepalive options.
module lnd-web-signer.invalid/native/tests/grpcgo_node

go 1.25.0

require google.golang.org/grpc v1.83.1

require (
	golang.org/x/net v0.55.0 // indirect
	golang.org/x/sys v0.45.0 // indirect
	golang.org/x/text v0.37.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260526163538-3dc84a4a5aaa // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)

// As in lnd's go.mod.
replace google.golang.org/protobuf => github.com/lightninglabs/protobuf-go-hex-display v1.36.11-hex-display
