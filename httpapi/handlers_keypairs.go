package httpapi

import (
	"time"

	"github.com/metalplane/metalplane"
	"github.com/metalplane/metalplane/sqlstore"
)

// The ccs key-pair actions (ACTIONS.md §4). Every call sees only the
// caller's team: another team's key pair is "not found".

// wireTimeLayout is the time format of every body (PROTOCOL.md §11).
const wireTimeLayout = "2006-01-02T15:04:05Z"

// wireTime formats t for a body: UTC, to the second, with Z.
func wireTime(t time.Time) string { return t.UTC().Format(wireTimeLayout) }

// keyPairInfo is KeyPair of ACTIONS.md §5.15. Every field is always
// present: Terraform dereferences keyId.
type keyPairInfo struct {
	KeyID          string `json:"keyId"`
	KeyName        string `json:"keyName"`
	PublicKey      string `json:"publicKey"`
	KeyDescription string `json:"keyDescription"`
	CreateTime     string `json:"createTime"`
}

type importKeyPairRequest struct {
	KeyName        *string `json:"keyName"`
	PublicKey      *string `json:"publicKey"`
	KeyDescription *string `json:"keyDescription"`
}

type importKeyPairResponse struct {
	KeyID string `json:"keyId"`
}

// handleImportKeyPair checks, in order: keyName and publicKey present, the
// name's format, the keys, the description's length; then the store checks
// the name is free and the quota.
func handleImportKeyPair(r *request) (any, error) {
	var in importKeyPairRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := requireString("keyName", in.KeyName); err != nil {
		return nil, err
	}
	if err := requireString("publicKey", in.PublicKey); err != nil {
		return nil, err
	}
	if err := metalplane.ValidateKeyName(*in.KeyName); err != nil {
		return nil, err
	}
	if _, err := metalplane.ParsePublicKeys(*in.PublicKey); err != nil {
		return nil, err
	}
	var desc string
	if in.KeyDescription != nil {
		desc = *in.KeyDescription
		if err := metalplane.ValidateKeyDescription(desc); err != nil {
			return nil, err
		}
	}
	create := sqlstore.KeyPairCreate{
		ID: metalplane.NewKeyPairID(), TeamID: r.caller.TeamID, Name: *in.KeyName, PublicKey: *in.PublicKey, Description: desc,
	}
	answer := importKeyPairResponse{KeyID: create.ID}
	if err := r.storeAnswer(answer); err != nil {
		return nil, err
	}
	if _, err := r.server.DB.CreateKeyPair(r.ctx, create); err != nil {
		return nil, err
	}
	return answer, nil
}

type describeKeyPairsRequest struct {
	KeyIDs   []string `json:"keyIds"`
	KeyName  *string  `json:"keyName"`
	PageSize *int     `json:"pageSize"`
	PageNum  *int     `json:"pageNum"`
}

type describeKeyPairsResponse struct {
	TotalCount int           `json:"totalCount"`
	DataSet    []keyPairInfo `json:"dataSet"`
}

func handleDescribeKeyPairs(r *request) (any, error) {
	var in describeKeyPairsRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if err := metalplane.FirstError(
		metalplane.CheckIDList("keyIds", in.KeyIDs, metalplane.MaxListItems),
		metalplane.CheckLength("keyName", in.KeyName, metalplane.MaxKeyNameLength),
	); err != nil {
		return nil, err
	}
	num, size, err := pageParams(in.PageNum, in.PageSize)
	if err != nil {
		return nil, err
	}
	f := sqlstore.KeyPairFilter{TeamID: r.caller.TeamID, IDs: in.KeyIDs, PageNum: num, PageSize: size}
	if in.KeyName != nil {
		f.NameContains = *in.KeyName
	}
	kps, total, err := r.server.DB.FindKeyPairs(r.ctx, f)
	if err != nil {
		return nil, err
	}
	out := describeKeyPairsResponse{TotalCount: total, DataSet: make([]keyPairInfo, 0, len(kps))}
	for _, kp := range kps {
		out.DataSet = append(out.DataSet, keyPairInfo{
			KeyID: kp.ID, KeyName: kp.Name, PublicKey: kp.PublicKey,
			KeyDescription: kp.Description, CreateTime: wireTime(kp.CreatedAt),
		})
	}
	return out, nil
}

type modifyKeyPairAttributeRequest struct {
	KeyID          *string `json:"keyId"`
	KeyDescription *string `json:"keyDescription"`
}

// handleModifyKeyPairAttribute changes the description only: absent leaves
// it unchanged, "" clears it ([decision], ACTIONS.md §4.3). The key pair
// must exist either way.
func handleModifyKeyPairAttribute(r *request) (any, error) {
	var in modifyKeyPairAttributeRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if _, err := requiredID("keyId", in.KeyID); err != nil {
		return nil, err
	}
	if in.KeyDescription == nil {
		if _, err := r.server.DB.FindKeyPair(r.ctx, r.caller.TeamID, *in.KeyID); err != nil {
			return nil, err
		}
		return struct{}{}, nil
	}
	if err := metalplane.ValidateKeyDescription(*in.KeyDescription); err != nil {
		return nil, err
	}
	if err := r.server.DB.UpdateKeyPairDescription(r.ctx, r.caller.TeamID, *in.KeyID, *in.KeyDescription); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type deleteKeyPairsRequest struct {
	KeyIDs []string `json:"keyIds"`
}

// handleDeleteKeyPairs deletes 1 to 100 key pairs, all or none.
func handleDeleteKeyPairs(r *request) (any, error) {
	var in deleteKeyPairsRequest
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if len(in.KeyIDs) == 0 {
		return nil, metalplane.Errorf("MISSING_PARAMETER", "keyIds is required.")
	}
	if err := metalplane.CheckIDList("keyIds", in.KeyIDs, metalplane.MaxListItems); err != nil {
		return nil, err
	}
	if err := r.server.DB.DeleteKeyPairs(r.ctx, r.caller.TeamID, in.KeyIDs); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// requireString answers MISSING_PARAMETER for a required string field that
// is absent or empty.
func requireString(name string, v *string) error {
	if v == nil || *v == "" {
		return metalplane.Errorf("MISSING_PARAMETER", "%s is required.", name)
	}
	return nil
}
