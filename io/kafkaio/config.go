package kafkaio

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Sentinel errors. Errors returned by this package wrap one of them (or a
// kafka-go error) with %w.
var (
	// ErrConfig reports an invalid configuration field.
	ErrConfig = errors.New("kafkaio: invalid configuration")
	// ErrBroker reports a failed request to the Kafka cluster.
	ErrBroker = errors.New("kafkaio: broker request failed")
	// ErrNotFound reports a topic or partition the cluster does not have.
	ErrNotFound = errors.New("kafkaio: topic or partition not found")
	// ErrWrite reports records that could not be written after retries.
	ErrWrite = errors.New("kafkaio: write failed")
	// ErrTooLarge reports a record over the topic's message size limit.
	ErrTooLarge = errors.New("kafkaio: record too large")
)

// DefaultBroker is the bootstrap address used when ConnConfig.Brokers is empty.
const DefaultBroker = "127.0.0.1:9092"

// SASL mechanism names accepted in SASLConfig.Mechanism.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// TLSConfig configures TLS by file paths, because a *tls.Config cannot be
// serialised into a pipeline. Each worker loads the files in Setup, so the
// paths must exist on the workers.
type TLSConfig struct {
	// Enable turns TLS on. Default false (plaintext). Setting any other field
	// also turns TLS on.
	Enable bool
	// CAFile is a PEM bundle of CAs that sign the brokers' certificates.
	// Default "": the system roots.
	CAFile string
	// CertFile and KeyFile are the PEM client certificate and key for mutual
	// TLS. Default "": no client certificate. Both or neither must be set.
	CertFile string
	KeyFile  string
	// ServerName overrides the name checked in the broker certificates.
	// Default "": the host of the broker address.
	ServerName string
	// InsecureSkipVerify disables certificate verification. Default false.
	// Only for tests.
	InsecureSkipVerify bool
}

func (t TLSConfig) enabled() bool {
	return t.Enable || t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify
}

// SASLConfig configures SASL authentication. The password is serialised with
// the pipeline like every other exported DoFn field: treat a serialised
// pipeline as a secret when it is set.
type SASLConfig struct {
	// Mechanism is "" (default: no SASL), "PLAIN", "SCRAM-SHA-256" or
	// "SCRAM-SHA-512" (case-insensitive).
	Mechanism string
	// Username and Password are the SASL credentials. Default "": required when
	// Mechanism is set.
	Username string
	Password string
}

// ConnConfig holds what a client needs to reach the cluster. It is shared by
// ReadConfig and WriteConfig.
type ConnConfig struct {
	// Brokers are bootstrap addresses, host:port. Default ["127.0.0.1:9092"].
	Brokers []string
	// ClientID is sent to the brokers with every request. Default "flavabeam".
	ClientID string
	// DialTimeout bounds opening a connection. Default 10s.
	DialTimeout time.Duration
	// RequestTimeout bounds one metadata, list-offsets or commit request.
	// Default 30s.
	RequestTimeout time.Duration
	// TLS configures encryption. Default: plaintext.
	TLS TLSConfig
	// SASL configures authentication. Default: none.
	SASL SASLConfig
}

func (c ConnConfig) brokers() []string {
	if len(c.Brokers) == 0 {
		return []string{DefaultBroker}
	}
	return c.Brokers
}

func (c ConnConfig) clientID() string {
	if c.ClientID == "" {
		return "flavabeam"
	}
	return c.ClientID
}

func (c ConnConfig) dialTimeout() time.Duration {
	if c.DialTimeout <= 0 {
		return 10 * time.Second
	}
	return c.DialTimeout
}

func (c ConnConfig) requestTimeout() time.Duration {
	if c.RequestTimeout <= 0 {
		return 30 * time.Second
	}
	return c.RequestTimeout
}

// Validate reports the first invalid field, wrapping ErrConfig.
func (c ConnConfig) Validate() error {
	for i, b := range c.Brokers {
		host, port, err := net.SplitHostPort(b)
		if err != nil || host == "" || port == "" {
			return fmt.Errorf("%w: Brokers[%d] %q is not host:port", ErrConfig, i, b)
		}
	}
	if c.DialTimeout < 0 {
		return fmt.Errorf("%w: DialTimeout %v is negative", ErrConfig, c.DialTimeout)
	}
	if c.RequestTimeout < 0 {
		return fmt.Errorf("%w: RequestTimeout %v is negative", ErrConfig, c.RequestTimeout)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return fmt.Errorf("%w: TLS.CertFile and TLS.KeyFile must be set together", ErrConfig)
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "":
		if c.SASL.Username != "" || c.SASL.Password != "" {
			return fmt.Errorf("%w: SASL.Mechanism is empty but SASL.Username/Password are set", ErrConfig)
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if c.SASL.Username == "" {
			return fmt.Errorf("%w: SASL.Username is empty for mechanism %s", ErrConfig, c.SASL.Mechanism)
		}
	default:
		return fmt.Errorf("%w: SASL.Mechanism %q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", ErrConfig, c.SASL.Mechanism)
	}
	return nil
}

// tlsConfig loads the TLS files; nil when TLS is off.
func (c ConnConfig) tlsConfig() (*tls.Config, error) {
	if !c.TLS.enabled() {
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.TLS.ServerName,
		InsecureSkipVerify: c.TLS.InsecureSkipVerify, //nolint:gosec // documented test-only option
	}
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: TLS.CAFile: %w", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: TLS.CAFile %s holds no PEM certificate", ErrConfig, c.TLS.CAFile)
		}
		cfg.RootCAs = pool
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: TLS.CertFile/KeyFile: %w", ErrConfig, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func (c ConnConfig) saslMechanism() (sasl.Mechanism, error) {
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "":
		return nil, nil
	case SASLPlain:
		return plain.Mechanism{Username: c.SASL.Username, Password: c.SASL.Password}, nil
	case SASLScramSHA256:
		m, err := scram.Mechanism(scram.SHA256, c.SASL.Username, c.SASL.Password)
		if err != nil {
			return nil, fmt.Errorf("%w: SASL: %w", ErrConfig, err)
		}
		return m, nil
	case SASLScramSHA512:
		m, err := scram.Mechanism(scram.SHA512, c.SASL.Username, c.SASL.Password)
		if err != nil {
			return nil, fmt.Errorf("%w: SASL: %w", ErrConfig, err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: SASL.Mechanism %q", ErrConfig, c.SASL.Mechanism)
}

// transport builds the kafka-go Transport (connection pool, TLS, SASL) used by
// both the Client (reads, metadata, commits) and the Writer.
func (c ConnConfig) transport() (*kafka.Transport, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	mech, err := c.saslMechanism()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{
		Dial:        (&net.Dialer{Timeout: c.dialTimeout()}).DialContext,
		DialTimeout: c.dialTimeout(),
		ClientID:    c.clientID(),
		TLS:         tlsCfg,
		SASL:        mech,
		MetadataTTL: 10 * time.Second,
	}, nil
}

// client builds a kafka-go Client on a fresh transport.
func (c ConnConfig) client() (*kafka.Client, *kafka.Transport, error) {
	tr, err := c.transport()
	if err != nil {
		return nil, nil, err
	}
	return &kafka.Client{
		Addr:      kafka.TCP(c.brokers()...),
		Timeout:   c.requestTimeout(),
		Transport: tr,
	}, tr, nil
}
