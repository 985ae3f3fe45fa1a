// Package authsetup turns etcd's auth on the way a platform team confines
// a tenant to its prefix (a role with read and write on PREFIX/ only, one
// with read only), for the tests that run fairlock as such users, against
// in-process clusters and real servers alike, and turns it off again.
package authsetup

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The users Enable makes, with their passwords.
const (
	Root, RootPassword     = "root", "root-pw"
	Tenant, TenantPassword = "tenant", "tenant-pw" // read and write on PREFIX/
	Reader, ReaderPassword = "reader", "reader-pw" // read only on PREFIX/
)

// The roles Enable makes beside etcd's own root role.
const (
	TenantRole = "tenant-rw"
	ReaderRole = "tenant-ro"
)

// Range returns the key range [from, end) of prefix's keys: prefix + "/"
// and everything under it, what a lock named prefix (and every lock under
// it) uses.
func Range(prefix string) (from, end string) {
	from = prefix + "/"
	return from, clientv3.GetPrefixRangeEnd(from)
}

// Enable makes the root user (role root), the tenant and reader users with
// their roles on prefix's Range, granted with RoleGrantPermission and a
// range end, and turns auth on. admin is a client without credentials of a
// server whose auth is off.
func Enable(ctx context.Context, admin *clientv3.Client, prefix string) error {
	from, end := Range(prefix)
	for _, step := range []struct {
		what string
		do   func() error
	}{
		{"add root", func() error { _, err := admin.UserAdd(ctx, Root, RootPassword); return err }},
		{"grant root", func() error { _, err := admin.UserGrantRole(ctx, Root, "root"); return err }},
		{"add role " + TenantRole, func() error { _, err := admin.RoleAdd(ctx, TenantRole); return err }},
		{"grant " + TenantRole, func() error {
			_, err := admin.RoleGrantPermission(ctx, TenantRole, from, end, clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		}},
		{"add role " + ReaderRole, func() error { _, err := admin.RoleAdd(ctx, ReaderRole); return err }},
		{"grant " + ReaderRole, func() error {
			_, err := admin.RoleGrantPermission(ctx, ReaderRole, from, end, clientv3.PermissionType(clientv3.PermRead))
			return err
		}},
		{"add " + Tenant, func() error { _, err := admin.UserAdd(ctx, Tenant, TenantPassword); return err }},
		{"grant " + Tenant, func() error { _, err := admin.UserGrantRole(ctx, Tenant, TenantRole); return err }},
		{"add " + Reader, func() error { _, err := admin.UserAdd(ctx, Reader, ReaderPassword); return err }},
		{"grant " + Reader, func() error { _, err := admin.UserGrantRole(ctx, Reader, ReaderRole); return err }},
		{"enable auth", func() error { _, err := admin.AuthEnable(ctx); return err }},
	} {
		if err := step.do(); err != nil {
			return fmt.Errorf("authsetup: %s: %w", step.what, err)
		}
	}
	return nil
}

// Disable turns auth off and deletes what Enable made, leaving the server
// as it was. root is a client logged in as Root.
func Disable(ctx context.Context, root *clientv3.Client) error {
	if _, err := root.AuthDisable(ctx); err != nil {
		return fmt.Errorf("authsetup: disable auth: %w", err)
	}
	for _, u := range []string{Tenant, Reader, Root} {
		if _, err := root.UserDelete(ctx, u); err != nil {
			return fmt.Errorf("authsetup: delete user %s: %w", u, err)
		}
	}
	// etcd's root role is implicit: granting it stores nothing to delete.
	for _, r := range []string{TenantRole, ReaderRole} {
		if _, err := root.RoleDelete(ctx, r); err != nil {
			return fmt.Errorf("authsetup: delete role %s: %w", r, err)
		}
	}
	return nil
}
