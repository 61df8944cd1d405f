// Package provenance derives the audit context of the operator's writes to the Studio
// user store (store.Caller): which object caused the write (X-Studio-Source) and on
// whose behalf (X-Studio-On-Behalf-Of): an Argo CD application, or the field manager
// (kubectl, Flux, a person's tool) that last changed the object.
package provenance
