// grpcgo-node: a minimal watch-only node on grpc-go, the library lnd's
// remote-signer listener runs on, with lnd's server options. The Rust tests
// in native/tests/liveness.rs use it as ground truth for what the simulator
// cannot reproduce: grpc-go's keepalive enforcement (GOAWAY too_many_pings)
// and when a stream's response headers are sent.
//
// It serves /watchonlyrpc.WatchOnly/SignCoordinatorStreams over TLS and does
// what lnd's handshake does (lnwallet/rpcwallet/sign_coordinator.go): Recv
// the signer's first message within -handshake-timeout, then Send the
// registration_complete answer; afterwards it reads (and drops) the
// signer's messages until the stream ends. Messages are not decoded (a raw
// codec); the reply bytes are fixed. Nothing else of lnd is modelled.
//
// stdout: "listening on ADDR" once serving. stderr: one line per event.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

const method = "/watchonlyrpc.WatchOnly/SignCoordinatorStreams"

// SignCoordinatorRequest{request_id: 1, registration_response:
// {registration_complete: {signature: "", registration_info:
// "watch-only registration info"}}}, protobuf-encoded.
var registrationComplete = append([]byte{
	0x08, 0x01, // request_id = 1
	0x12, 0x20, // registration_response, 32 bytes
	0x0a, 0x1e, // registration_complete, 30 bytes
	0x12, 0x1c, // registration_info, 28 bytes
}, []byte("watch-only registration info")...)

// rawCodec passes message bytes through unchanged.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

var streams atomic.Int64

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "grpcgo-node: "+format+"\n", args...)
}

func handler(handshakeTimeout time.Duration) grpc.StreamHandler {
	return func(_ any, stream grpc.ServerStream) error {
		name, _ := grpc.MethodFromServerStream(stream)
		if name != method {
			return fmt.Errorf("unknown method %s", name)
		}
		n := streams.Add(1)
		logf("stream %d opened", n)

		// lnd's handshake: the first message must arrive within the
		// request timeout; nothing is sent before it.
		ctx, cancel := context.WithTimeout(stream.Context(), handshakeTimeout)
		defer cancel()
		first := make(chan error, 1)
		go func() {
			var msg []byte
			first <- stream.RecvMsg(&msg)
		}()
		select {
		case err := <-first:
			if err != nil {
				logf("stream %d failed the handshake: %v", n, err)
				return fmt.Errorf("error receiving initial remote signer registration message: %v", err)
			}
		case <-ctx.Done():
			logf("stream %d: no registration within %v", n, handshakeTimeout)
			return ctx.Err()
		}
		reply := registrationComplete
		if err := stream.SendMsg(&reply); err != nil {
			logf("stream %d: cannot send the registration answer: %v", n, err)
			return err
		}
		logf("stream %d registered", n)
		for {
			var msg []byte
			if err := stream.RecvMsg(&msg); err != nil {
				logf("stream %d ended: %v", n, err)
				return err
			}
		}
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen address")
	cert := flag.String("cert", "", "TLS certificate (PEM)")
	key := flag.String("key", "", "TLS key (PEM)")
	minTime := flag.Duration("client-ping-min-wait", 5*time.Second, "keepalive.EnforcementPolicy.MinTime (lnd: grpc.client-ping-min-wait)")
	withoutStream := flag.Bool("client-allow-ping-without-stream", false, "keepalive.EnforcementPolicy.PermitWithoutStream (lnd: grpc.client-allow-ping-without-stream)")
	pingTime := flag.Duration("server-ping-time", time.Minute, "keepalive.ServerParameters.Time (lnd: grpc.server-ping-time)")
	pingTimeout := flag.Duration("server-ping-timeout", 20*time.Second, "keepalive.ServerParameters.Timeout (lnd: grpc.server-ping-timeout)")
	handshakeTimeout := flag.Duration("handshake-timeout", 5*time.Second, "lnd's remotesigner.experimentalrequesttimeout")
	flag.Parse()

	creds, err := credentials.NewServerTLSFromFile(*cert, *key)
	if err != nil {
		logf("tls: %v", err)
		os.Exit(2)
	}
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		logf("listen: %v", err)
		os.Exit(2)
	}
	// The options lnd.go gives its remote-signer listener.
	srv := grpc.NewServer(
		grpc.Creds(creds),
		grpc.ForceServerCodec(rawCodec{}),
		grpc.UnknownServiceHandler(handler(*handshakeTimeout)),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time:    *pingTime,
			Timeout: *pingTimeout,
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             *minTime,
			PermitWithoutStream: *withoutStream,
		}),
		grpc.MaxRecvMsgSize(200*1024*1024),
	)
	fmt.Printf("listening on %s\n", lis.Addr())
	if err := srv.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		logf("serve: %v", err)
		os.Exit(1)
	}
}
