package githubtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	keyOnce sync.Once
	keyVal  *rsa.PrivateKey
	keyPEM  []byte
)

func appKey() *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("githubtest: generate RSA key: " + err.Error())
		}
		keyVal = k
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	})
	return keyVal
}

// AppKey returns the PEM (PKCS#1) private key of the fake GitHub App, made
// once per test binary. JWTs signed with it (RS256, iss = the App ID) are
// accepted on the /app endpoints.
func AppKey() []byte {
	appKey()
	return append([]byte(nil), keyPEM...)
}

// verifyJWT checks an App JWT the way GitHub does: RS256 signature by the
// App's key, issuer the App ID, not expired, issued at most 60s in the future.
func verifyJWT(tok string, appID int64, now time.Time) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	hdrRaw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return fmt.Errorf("JWT header: %w", err)
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(hdrRaw, &hdr); err != nil || hdr.Alg != "RS256" {
		return fmt.Errorf("JWT alg %q, want RS256", hdr.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("JWT signature: %w", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&appKey().PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("JWT signature: %w", err)
	}
	claimsRaw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("JWT claims: %w", err)
	}
	var c struct {
		Iss any   `json:"iss"`
		Exp int64 `json:"exp"`
		Iat int64 `json:"iat"`
	}
	if err := json.Unmarshal(claimsRaw, &c); err != nil {
		return fmt.Errorf("JWT claims: %w", err)
	}
	var iss string
	switch v := c.Iss.(type) {
	case string:
		iss = v
	case float64:
		iss = strconv.FormatInt(int64(v), 10)
	}
	if iss != strconv.FormatInt(appID, 10) {
		return fmt.Errorf("JWT issuer %q, want App ID %d", iss, appID)
	}
	if c.Exp == 0 || now.Unix() > c.Exp {
		return errors.New("JWT expired")
	}
	if c.Exp-c.Iat > 11*60 {
		return errors.New("JWT lives longer than 10 minutes")
	}
	return nil
}

// SignJWT returns an App JWT signed with AppKey for appID, as ghinstallation
// would make it.
func SignJWT(appID int64, now time.Time) string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"iss": strconv.FormatInt(appID, 10), "iat": now.Add(-30 * time.Second).Unix(), "exp": now.Add(9 * time.Minute).Unix()})
	c := enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(h + "." + c))
	sig, err := rsa.SignPKCS1v15(rand.Reader, appKey(), crypto.SHA256, sum[:])
	if err != nil {
		panic("githubtest: sign JWT: " + err.Error())
	}
	return h + "." + c + "." + enc.EncodeToString(sig)
}
