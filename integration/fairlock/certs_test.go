package fairlock_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
)

// testTLS writes a CA, a server certificate for localhost and 127.0.0.1 and
// a client certificate to a temporary directory, and returns the server's
// TLSInfo (client certificates required) and the client's tls.Config.
func testTLS(t *testing.T) (*transport.TLSInfo, *tls.Config) {
	t.Helper()
	dir := t.TempDir()
	caKey, caCert, caDER := newCert(t, nil, nil, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "fairlock test CA"},
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	})
	writePEM(t, filepath.Join(dir, "ca.crt"), "CERTIFICATE", caDER)
	// The test framework's own clients present the server's certificate.
	both := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	for _, leaf := range []struct {
		name  string
		usage []x509.ExtKeyUsage
	}{{"server", both}, {"client", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}} {
		key, _, der := newCert(t, caKey, caCert, &x509.Certificate{
			Subject:     pkix.Name{CommonName: leaf.name},
			DNSNames:    []string{"localhost"},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: leaf.usage,
		})
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, filepath.Join(dir, leaf.name+".crt"), "CERTIFICATE", der)
		writePEM(t, filepath.Join(dir, leaf.name+".key"), "EC PRIVATE KEY", keyDER)
	}
	server := &transport.TLSInfo{
		CertFile:       filepath.Join(dir, "server.crt"),
		KeyFile:        filepath.Join(dir, "server.key"),
		TrustedCAFile:  filepath.Join(dir, "ca.crt"),
		ClientCertAuth: true,
	}
	client := transport.TLSInfo{
		CertFile:      filepath.Join(dir, "client.crt"),
		KeyFile:       filepath.Join(dir, "client.key"),
		TrustedCAFile: filepath.Join(dir, "ca.crt"),
	}
	cfg, err := client.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	return server, cfg
}

var serial int64

// newCert makes a key and a certificate from tmpl, signed by parent (self
// signed when parent is nil).
func newCert(t *testing.T, parentKey *ecdsa.PrivateKey, parent, tmpl *x509.Certificate) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, der
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
