// Command minio-setup applies a MinIO site's layout, read as JSON from stdin, with the site's root
// credentials: buckets (versioning, object lock, expiry by prefix), canned policies, users with
// their policy, and bucket replication to another site. Every step is idempotent, so it runs at
// every start of the local stack.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/minio/madmin-go/v3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
	"github.com/minio/minio-go/v7/pkg/replication"
)

type expiry struct {
	Prefix string `json:"prefix"`
	Days   int    `json:"days"`
}

type bucket struct {
	Name       string   `json:"name"`
	Versioning bool     `json:"versioning"`
	ObjectLock bool     `json:"objectLock"`
	Expire     []expiry `json:"expire"`
	// Days after which a version that is no longer current is removed (0: kept).
	NoncurrentDays int `json:"noncurrentDays"`
}

type policy struct {
	Name     string          `json:"name"`
	Document json.RawMessage `json:"document"`
}

type user struct {
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
	Policy    string `json:"policy"`
}

type site struct {
	Endpoint  string `json:"endpoint"`
	Secure    bool   `json:"secure"`
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
}

type replicationRule struct {
	Bucket       string `json:"bucket"`
	Target       site   `json:"target"`
	TargetBucket string `json:"targetBucket"`
}

type layout struct {
	site
	CAFile      string            `json:"caFile"`
	Buckets     []bucket          `json:"buckets"`
	Policies    []policy          `json:"policies"`
	Users       []user            `json:"users"`
	Replication []replicationRule `json:"replication"`
}

func transport(caFile string) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile == "" {
		return tr, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return tr, nil
}

func ensureBucket(ctx context.Context, s3 *minio.Client, b bucket) error {
	exists, err := s3.BucketExists(ctx, b.Name)
	if err != nil {
		return err
	}
	if !exists {
		if err := s3.MakeBucket(ctx, b.Name, minio.MakeBucketOptions{ObjectLocking: b.ObjectLock}); err != nil {
			return err
		}
	}
	if b.Versioning && !b.ObjectLock {
		if err := s3.EnableVersioning(ctx, b.Name); err != nil {
			return err
		}
	}
	if len(b.Expire) == 0 && b.NoncurrentDays == 0 {
		return nil
	}
	config := lifecycle.NewConfiguration()
	for _, e := range b.Expire {
		config.Rules = append(config.Rules, lifecycle.Rule{
			ID:         "expire-" + strings.TrimSuffix(e.Prefix, "/"),
			Status:     "Enabled",
			RuleFilter: lifecycle.Filter{Prefix: e.Prefix},
			Expiration: lifecycle.Expiration{Days: lifecycle.ExpirationDays(e.Days)},
		})
	}
	if b.NoncurrentDays > 0 {
		config.Rules = append(config.Rules, lifecycle.Rule{
			ID:                          "noncurrent-versions",
			Status:                      "Enabled",
			NoncurrentVersionExpiration: lifecycle.NoncurrentVersionExpiration{NoncurrentDays: lifecycle.ExpirationDays(b.NoncurrentDays)},
		})
	}
	return s3.SetBucketLifecycle(ctx, b.Name, config)
}

func ensureReplication(ctx context.Context, admin *madmin.AdminClient, s3 *minio.Client, r replicationRule) error {
	targets, err := admin.ListRemoteTargets(ctx, r.Bucket, string(madmin.ReplicationService))
	if err != nil {
		return err
	}
	arn := ""
	for _, t := range targets {
		if t.Endpoint == r.Target.Endpoint && t.TargetBucket == r.TargetBucket {
			arn = t.Arn
		}
	}
	if arn == "" {
		arn, err = admin.SetRemoteTarget(ctx, r.Bucket, &madmin.BucketTarget{
			SourceBucket: r.Bucket,
			Endpoint:     r.Target.Endpoint,
			Secure:       r.Target.Secure,
			Credentials:  &madmin.Credentials{AccessKey: r.Target.AccessKey, SecretKey: r.Target.SecretKey},
			TargetBucket: r.TargetBucket,
			API:          "s3v4",
			Type:         madmin.ReplicationService,
		})
		if err != nil {
			return err
		}
	}
	config := replication.Config{}
	err = config.AddRule(replication.Options{
		ID:                      "to-" + strings.ReplaceAll(r.Target.Endpoint, ":", "-"),
		Priority:                "1",
		RuleStatus:              "enable",
		DestBucket:              arn,
		ReplicateDeletes:        "enable",
		ReplicateDeleteMarkers:  "enable",
		ReplicaSync:             "enable",
		ExistingObjectReplicate: "enable",
	})
	if err != nil {
		return err
	}
	return s3.SetBucketReplication(ctx, r.Bucket, config)
}

func apply(ctx context.Context, l layout) error {
	tr, err := transport(l.CAFile)
	if err != nil {
		return err
	}
	creds := credentials.NewStaticV4(l.AccessKey, l.SecretKey, "")
	s3, err := minio.New(l.Endpoint, &minio.Options{Creds: creds, Secure: l.Secure, Transport: tr})
	if err != nil {
		return err
	}
	admin, err := madmin.NewWithOptions(l.Endpoint, &madmin.Options{Creds: creds, Secure: l.Secure, Transport: tr})
	if err != nil {
		return err
	}
	for _, b := range l.Buckets {
		if err := ensureBucket(ctx, s3, b); err != nil {
			return fmt.Errorf("bucket %s: %w", b.Name, err)
		}
	}
	for _, p := range l.Policies {
		if err := admin.AddCannedPolicy(ctx, p.Name, p.Document); err != nil {
			return fmt.Errorf("policy %s: %w", p.Name, err)
		}
	}
	for _, u := range l.Users {
		if err := admin.AddUser(ctx, u.AccessKey, u.SecretKey); err != nil {
			return fmt.Errorf("user %s: %w", u.AccessKey, err)
		}
		if err := admin.SetPolicy(ctx, u.Policy, u.AccessKey, false); err != nil {
			return fmt.Errorf("policy of user %s: %w", u.AccessKey, err)
		}
	}
	for _, r := range l.Replication {
		if err := ensureReplication(ctx, admin, s3, r); err != nil {
			return fmt.Errorf("replication of %s: %w", r.Bucket, err)
		}
	}
	return nil
}

func main() {
	var l layout
	if err := json.NewDecoder(os.Stdin).Decode(&l); err != nil {
		fmt.Fprintln(os.Stderr, "minio-setup: reading the layout:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := apply(ctx, l); err != nil {
		fmt.Fprintln(os.Stderr, "minio-setup:", err)
		os.Exit(1)
	}
}
