package metalplane

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is an error code of the Zenlayer Cloud API, written on the wire in
// UPPER_SNAKE_CASE. Every code the server can answer is declared once in
// codeTable below, with its HTTP status and a default message.
type Code string

// codeInfo is one row of the error table.
type codeInfo struct {
	Status  int
	Message string
}

// The error table: each code of ../shared/spec/ERRORS.md that metalplane
// answers, once, with its HTTP status. Codes marked PROPOSED in the spec are
// our choice; docs/api.md lists them.
var codeTable = map[Code]codeInfo{
	// Common codes (ERRORS.md §3).
	"REQUEST_LIMIT_EXCEEDED":                    {http.StatusTooManyRequests, "Too many requests; retry later."},
	"MISSING_PARAMETER":                         {http.StatusBadRequest, "A required parameter is missing."},
	"INTERNAL_SERVER_ERROR":                     {http.StatusInternalServerError, "An internal error occurred."},
	"SERVICE_TEMPORARY_UNAVAILABLE":             {http.StatusServiceUnavailable, "The service is temporarily unavailable."},
	"REQUEST_TIMED_OUT":                         {http.StatusGatewayTimeout, "The request timed out."},
	"OPERATION_FAILED_RESOURCE_NOT_FOUND":       {http.StatusNotFound, "The resource does not exist."},
	"OPERATION_FAILED_RESOURCE_GROUP_NOT_FOUND": {http.StatusNotFound, "The resource group does not exist."},
	"INVALID_PARAMETER":                         {http.StatusBadRequest, "A parameter is invalid."},
	"AUTH_FAILURE":                              {http.StatusUnauthorized, "Authentication failed."},
	"AUTH_FAILURE_SIGNATURE_MISMATCH":           {http.StatusUnauthorized, "The request signature does not match."},
	"AUTH_FAILURE_SIGNATURE_EXPIRED":            {http.StatusUnauthorized, "The request timestamp is outside the accepted window."},
	"UNAUTHORIZED_OPERATION":                    {http.StatusForbidden, "The operation is not allowed for this account."},
	"INVALID_ACTION":                            {http.StatusNotFound, "The action does not exist for this service."},
	"INVALID_VERSION":                           {http.StatusBadRequest, "The API version is not supported by this service."},
	"INVALID_SERVICE":                           {http.StatusNotFound, "The service does not exist."},
	"INVALID_HTTP_METHOD":                       {http.StatusMethodNotAllowed, "Only POST is supported."},
	"REQUEST_ENTITY_TOO_LARGE":                  {http.StatusRequestEntityTooLarge, "The request body is too large."},
	"REQUEST_HEADER_FIELDS_TOO_LARGE":           {http.StatusRequestHeaderFieldsTooLarge, "The request headers are too large."},

	// CreateInstances, seed page (ERRORS.md §4.1).
	"INVALID_ZONE_NOT_FOUND":                               {http.StatusNotFound, "The zone does not exist."},
	"INVALID_INSTANCE_TYPE_NOT_FOUND":                      {http.StatusNotFound, "The instance type does not exist."},
	"INVALID_IMAGE_NOT_FOUND":                              {http.StatusNotFound, "The image does not exist."},
	"INVALID_SUBNET_NOT_FOUND":                             {http.StatusNotFound, "The subnet does not exist."},
	"INVALID_CHARGE_TYPE_NOT_SUPPORT":                      {http.StatusForbidden, "This charge type is not enabled for the account."},
	"OPERATION_DENIED_INSTANCE_QUOTA_EXCEED":               {http.StatusForbidden, "The instance quota would be exceeded."},
	"INVALID_PARAMETER_INSTANCE_LOGIN_CONFLICT":            {http.StatusBadRequest, "Give only one of password, keyId and sshKeys."},
	"INVALID_PARAMETER_VALUE_PASSWORD_MALFORMED":           {http.StatusBadRequest, "The password does not meet the rules."},
	"INVALID_PARAMETER_SSH_KEY_MALFORMED":                  {http.StatusBadRequest, "An SSH public key is malformed."},
	"INVALID_PARAMETER_SSH_KEY_DUPLICATE":                  {http.StatusBadRequest, "An SSH public key is given twice."},
	"INVALID_PARAMETER_INSTANCE_NAME_EXCEED":               {http.StatusBadRequest, "The instance name is invalid or too long."},
	"INVALID_PARAMETER_HOSTNAME_EXCEED":                    {http.StatusBadRequest, "The hostname is too long."},
	"INVALID_PARAMETER_HOSTNAME_MALFORMED":                 {http.StatusBadRequest, "The hostname is malformed."},
	"INVALID_PARAMETER_NIC_NAME_MALFORMED":                 {http.StatusBadRequest, "A NIC name is malformed."},
	"INVALID_PARAMETER_NIC_NAME_CONFLICT":                  {http.StatusBadRequest, "The WAN and LAN NIC names are the same."},
	"INVALID_RAID_CONFIG_FAST_CUSTOM_CONFLICT":             {http.StatusBadRequest, "Give either raidType or customRaids, not both."},
	"INVALID_INSTANCE_TYPE_RAID_NOT_SUPPORT":               {http.StatusBadRequest, "The instance type does not support this RAID level."},
	"INVALID_INSTANCE_TYPE_QUICK_RAID_NOT_SUPPORT":         {http.StatusBadRequest, "The instance type does not support quick RAID; use customRaids."},
	"INVALID_PARAMETER_VALUE_RAID_DISK_MISMATCH":           {http.StatusBadRequest, "The number of disks does not suit the RAID level."},
	"INVALID_PARAMETER_VALUE_RAID_DISK_DISORDER":           {http.StatusBadRequest, "Disk numbers of a RAID group must be consecutive and ascending."},
	"INVALID_PARAMETER_VALUE_RAID_DISK_SEQUENCE_DUPLICATE": {http.StatusBadRequest, "A disk number is used twice."},
	"INVALID_PARAMETER_VALUE_RAID_DISK_SEQUENCE_RANGE":     {http.StatusBadRequest, "A disk number is out of range."},
	"INVALID_PARTITION_IMAGE_NOT_SET":                      {http.StatusForbidden, "Partitions need an image that allows custom partitioning."},
	"INVALID_PARTITION_MALFORMED":                          {http.StatusBadRequest, "A partition path is malformed."},
	"INVALID_PARTITION_NO_TYPE":                            {http.StatusBadRequest, "A partition file system type is missing or not allowed."},
	"INVALID_PARTITION_INVALID_ORDER":                      {http.StatusBadRequest, "Partitions are not in the required order."},
	"INVALID_PARTITION_MISSING_REQUIRED_FILE_PATH":         {http.StatusBadRequest, "The system partition is missing."},
	"INVALID_PARTITION_DUPLICATE_FILE_PATH":                {http.StatusBadRequest, "A partition path is given twice."},
	"INVALID_SUBNET_ZONE_MISMATCH":                         {http.StatusBadRequest, "The subnet is not in the zone."},
	"INVALID_SUBNET_PRIVATE_IP_INSUFFICIENT":               {http.StatusBadRequest, "The subnet has too few free private IPs."},

	// CreateInstances, SDK only (ERRORS.md §4.2).
	"OPERATION_FILED_INTERNET_CHARGE_TYPE_NOT_SUPPORT": {http.StatusForbidden, "This internet charge type is not offered here."},
	"INVALID_BANDWIDTH_VALUE_EXCEED_MAXIMUM":           {http.StatusBadRequest, "The bandwidth exceeds the maximum."},
	"INVALID_PARTITION_SIZE_NOT_FULL":                  {http.StatusBadRequest, "The partition sizes do not fit the disk capacity."},
	"RESOURCE_INSUFFICIENT_PRODUCT_SOLD_OUT":           {http.StatusBadRequest, "Not enough stock for this amount."},
	"RESOURCES_SOLDOUT_INSTANCE_TYPE":                  {http.StatusBadRequest, "The instance type is sold out in this zone."},
	"OPERATION_DENIED_CHARGE_TYPE_NOT_SUPPORT":         {http.StatusForbidden, "This charge type is not offered here."},

	// CreateInstances, our codes (ERRORS.md §4.3).
	"OPERATION_DENIED_BALANCE_INSUFFICIENT":        {http.StatusForbidden, "The balance is insufficient."},
	"OPERATION_DENIED_POC_VOUCHER_NOT_FOUND":       {http.StatusForbidden, "The account has no POC voucher."},
	"INVALID_KEY_PAIR_NOT_FOUND":                   {http.StatusNotFound, "The key pair does not exist."},
	"OPERATION_DENIED_INSTANCE_NOT_SUPPORT_SUBNET": {http.StatusForbidden, "The instance type does not support subnets."},
	"OPERATION_DENIED_SUBNET_STATUS_NOT_SUPPORT":   {http.StatusForbidden, "The subnet status does not allow this operation."},

	// Instance lifecycle (ERRORS.md §5).
	"INVALID_INSTANCE_NOT_FOUND":                  {http.StatusNotFound, "The instance does not exist."},
	"OPERATION_DENIED_INSTANCE_RECYCLED":          {http.StatusForbidden, "The instance is in the recycle bin."},
	"OPERATION_DENIED_INSTANCE_NOT_STOPPED":       {http.StatusForbidden, "The instance is not stopped."},
	"OPERATION_DENIED_INSTANCE_NOT_RUNNING":       {http.StatusForbidden, "The instance is not running."},
	"OPERATION_DENIED_INSTANCE_STATUS":            {http.StatusForbidden, "The instance status does not allow this operation."},
	"OPERATION_DENIED_INSTANCE_STATUS_INSTALLING": {http.StatusForbidden, "The instance is installing."},
	"OPERATION_DENIED_INSTANCE_CREATING":          {http.StatusForbidden, "The instance is being created."},
	"OPERATION_DENIED_INSTANCE_SUBSCRIPTION":      {http.StatusForbidden, "The instance is a subscription instance."},
	"OPERATION_DENIED_POSTPAID_PROMISE":           {http.StatusForbidden, "The instance is inside its commitment period."},
	"OPERATION_DENIED_INSTANCE_NOT_RECYCLED":      {http.StatusForbidden, "The instance is not in the recycle bin."},

	// Catalog and pricing (ERRORS.md §6).
	"INVALID_INSTANCE_BANDWIDTH_ZONE_NO_SELL": {http.StatusBadRequest, "This internet charge type is not sold in the zone."},
	"INVALID_INSTANCE_TYPE_ZONE_NO_SELL":      {http.StatusBadRequest, "The instance type is not sold in the zone."},

	// Subnets (ERRORS.md §7).
	"INVALID_VPC_NOT_FOUND":                    {http.StatusNotFound, "The VPC does not exist."},
	"OPERATION_DENIED_ZONE_NOT_SUPPORT_SUBNET": {http.StatusForbidden, "The zone does not offer subnets."},
	"INVALID_PARAMETER_SUBNET_CIDR_BLOCK":      {http.StatusBadRequest, "The CIDR block cannot be parsed."},
	"INVALID_PARAMETER_SUBNET_LAN_IP_NETMASK":  {http.StatusBadRequest, "The prefix length is not allowed."},
	"INVALID_PARAMETER_SUBNET_LAN_IP":          {http.StatusBadRequest, "The CIDR block is outside the private ranges."},
	"OPERATION_DENIED_SUBNET_EXCEED_LIMIT":     {http.StatusForbidden, "The subnet quota of the zone is reached."},
	"OPERATION_DENIED_SUBNET_EXIST_INSTANCE":   {http.StatusForbidden, "The subnet still has instances."},

	// Bandwidth, traffic package and subnet membership actions (codes of
	// ERRORS.md §9 with the SDK's meaning; statuses are our choice:
	// INVALID_* 400, OPERATION_* 403).
	"OPERATION_DENIED_INTERNET_CHARGE_TYPE_NOT_SUPPORT":    {http.StatusForbidden, "The instance's internet charge type does not support this operation."},
	"INVALID_PARAMETER_BANDWIDTH_EXCEED":                   {http.StatusBadRequest, "The bandwidth exceeds the maximum of the instance type."},
	"OPERATION_FAILED_INSTANCE_BANDWIDTH_PROCESSING":       {http.StatusForbidden, "A bandwidth change of the instance is pending."},
	"OPERATION_DENIED_DOWNGRADE_NOT_EXIST":                 {http.StatusForbidden, "The instance has no scheduled downgrade."},
	"INVALID_PARAMETER_TRAFFIC_PACKAGE_ERROR":              {http.StatusBadRequest, "The traffic package size is invalid."},
	"INVALID_PARAMETER_TRAFFIC_PACKAGE_LESS":               {http.StatusBadRequest, "The traffic package is smaller than the free package."},
	"INVALID_PARAMETER_TRAFFIC_PACKAGE_EXCEED":             {http.StatusBadRequest, "The traffic package exceeds the maximum."},
	"OPERATION_FAILED_INSTANCE_EXIST_PLAN_TRAFFIC_PACKAGE": {http.StatusForbidden, "A traffic package downgrade of the instance is scheduled."},
	"OPERATION_DENIED_DIFFERENT_ZONE":                      {http.StatusForbidden, "The instance and the subnet are in different zones."},
	"INVALID_PARAMETER_DUPLICATE_LAN_IP":                   {http.StatusBadRequest, "A private IP is given twice."},
	"INVALID_PARAMETER_LAN_IP_NOT_SUPPORT":                 {http.StatusBadRequest, "This private IP cannot be assigned."},
	"OPERATION_DENIED_IP_ASSOCIATED_INSTANCE":              {http.StatusForbidden, "The private IP is already assigned to an instance."},
	"OPERATION_DENIED_SUBNET_NOT_REPEAT_INSTANCE":          {http.StatusForbidden, "The instance is already in the subnet."},

	// Elastic IPs and DDoS-protected IPs (codes of ERRORS.md §9 with the
	// SDK's meaning; statuses are our choice: INVALID_*_NOT_FOUND 404,
	// other INVALID_* 400, OPERATION_DENIED_* 403).
	"INVALID_EIP_TYPE_ZONE_NO_SELL":                 {http.StatusBadRequest, "Elastic IPs are not sold in the zone."},
	"INVALID_EIP_NOT_FOUND":                         {http.StatusNotFound, "The elastic IP does not exist."},
	"OPERATION_DENIED_EIP_SUBSCRIPTION":             {http.StatusForbidden, "The elastic IP is a subscription."},
	"OPERATION_DENIED_EIP_RECYCLED":                 {http.StatusForbidden, "The elastic IP is in the recycle bin."},
	"OPERATION_DENIED_EIP_NOT_RECYCLED":             {http.StatusForbidden, "The elastic IP is not in the recycle bin."},
	"OPERATION_DENIED_EIP_ZONE_NOT_SAME":            {http.StatusForbidden, "The elastic IP and the instance are in different zones."},
	"OPERATION_DENIED_EIP_STATUS_NOT_AVAILABLE":     {http.StatusForbidden, "The elastic IP is not AVAILABLE."},
	"OPERATION_DENIED_EIP_ESXI_INSTANCE_ASSIGN":     {http.StatusForbidden, "An ESXi instance cannot take an elastic IP."},
	"OPERATION_DENIED_EIP_INSTANCE_EXCEED_LIMIT":    {http.StatusForbidden, "The instance has the most addresses it may have."},
	"OPERATION_DENIED_EIP_STATUS_NOT_SUPPORT":       {http.StatusForbidden, "The elastic IP status does not allow this operation."},
	"INVALID_DDOS_IP_TYPE_ZONE_NO_SELL":             {http.StatusBadRequest, "DDoS-protected IPs are not sold in the zone."},
	"INVALID_DDOS_IP_NOT_FOUND":                     {http.StatusNotFound, "The DDoS-protected IP does not exist."},
	"OPERATION_DENIED_DDOS_IP_SUBSCRIPTION":         {http.StatusForbidden, "The DDoS-protected IP is a subscription."},
	"OPERATION_DENIED_DDOS_IP_RECYCLED":             {http.StatusForbidden, "The DDoS-protected IP is in the recycle bin."},
	"OPERATION_DENIED_DDOS_IP_NOT_RECYCLED":         {http.StatusForbidden, "The DDoS-protected IP is not in the recycle bin."},
	"OPERATION_DENIED_DDOS_IP_ZONE_NOT_SAME":        {http.StatusForbidden, "The DDoS-protected IP and the instance are in different zones."},
	"OPERATION_DENIED_DDOS_IP_STATUS_NOT_AVAILABLE": {http.StatusForbidden, "The DDoS-protected IP is not AVAILABLE."},
	"OPERATION_DENIED_DDOS_IP_ESXI_INSTANCE_ASSIGN": {http.StatusForbidden, "An ESXi instance cannot take a DDoS-protected IP."},
	"FAILED_OPERATION_FOR_RECYCLE_RESOURCE":         {http.StatusForbidden, "The address is in the recycle bin."},
	"OPERATION_DENIED_DDOS_IP_STATUS_NOT_SUPPORT":   {http.StatusForbidden, "The DDoS-protected IP status does not allow this operation."},

	// Key pairs (ERRORS.md §8).
	"INVALID_KEY_PAIR_ALGORITHM":      {http.StatusBadRequest, "The key algorithm is not supported."},
	"INVALID_KEY_PAIR_EXCEED_LIMIT":   {http.StatusBadRequest, "The key pair quota is reached."},
	"INVALID_KEY_PAIR_MALFORMED":      {http.StatusBadRequest, "The key name is malformed."},
	"INVALID_KEY_PAIR_NAME_EXIST":     {http.StatusConflict, "The key name is already used."},
	"INVALID_PUBLIC_KEY_EXCEED_LIMIT": {http.StatusBadRequest, "At most 5 public keys are allowed."},
	"INVALID_PUBLIC_KEY_MALFORMED":    {http.StatusBadRequest, "The public key is malformed."},

	// VPCs and subnets in VPCs (issue 14; codes of the SDK's errors.go,
	// statuses our choice: not found 404, INVALID_* 400, OPERATION_* 403).
	"INVALID_VPC_REGION_NOT_FOUND":                  {http.StatusNotFound, "The VPC region does not exist."},
	"OPERATION_DENIED_VPC_REGION_EXCEED_LIMIT":      {http.StatusForbidden, "The VPC quota of the region is reached."},
	"INVALID_PARAMETER_VPC_CIDR_BLOCK":              {http.StatusBadRequest, "The VPC CIDR block cannot be parsed."},
	"INVALID_PARAMETER_VPC_LAN_IP":                  {http.StatusBadRequest, "The VPC CIDR block is outside the private ranges."},
	"INVALID_PARAMETER_VPC_LAN_IP_NETMASK":          {http.StatusBadRequest, "The VPC prefix length is not allowed."},
	"OPERATION_DENIED_VPC_STATUS_NOT_SUPPORT":       {http.StatusForbidden, "The VPC status does not allow this operation."},
	"OPERATION_DENIED_VPC_EXIST_SUBNET_ASSIGN":      {http.StatusForbidden, "The VPC still has subnets."},
	"OPERATION_DENIED_NO_AVAILABLE_VPC_REGION":      {http.StatusForbidden, "The VPC's region is no longer available."},
	"OPERATION_DENIED_ZONE_NOT_BELONG_VPC":          {http.StatusForbidden, "The zone is not in the VPC's region."},
	"OPERATION_DENIED_VPC_ZONE_SUBNET_EXCEED_LIMIT": {http.StatusForbidden, "The VPC's subnet quota in the zone is reached."},
	"INVALID_PARAMETER_VPC_SUBNET_OVER_LAP":         {http.StatusBadRequest, "The CIDR block overlaps another subnet of the VPC."},
	"INVALID_PARAMETER_SUBNET_CIDR_NOT_BELONG_VPC":  {http.StatusBadRequest, "The CIDR block is outside the VPC's block."},
	"OPERATION_DENIED_SUBNET_ASSOCIATED_OTHER_VPC":  {http.StatusForbidden, "The subnet is in another VPC."},
	// CIDR blocks and BYOIP (the SDK's errors.go; statuses are our choice:
	// INVALID_*_NOT_FOUND 404, OPERATION_* 403).
	"OPERATION_DENIED_UNAVAILABLE_NETMASK":            {http.StatusForbidden, "This netmask is not sold."},
	"OPERATION_DENIED_NETMASK_OUT_OF_STOCK":           {http.StatusForbidden, "No block of this netmask is free."},
	"OPERATION_DENIED_CIDRBLOCK_TYPE_NOT_SUPPORTED":   {http.StatusForbidden, "This kind of CIDR block cannot be renewed."},
	"OPERATION_DENIED_CIDRBLOCK_SUBSCRIPTION":         {http.StatusForbidden, "A PREPAID CIDR block cannot be returned."},
	"OPERATION_DENIED_INSTANCE_EXIST":                 {http.StatusForbidden, "Addresses of the CIDR block are bound to instances."},
	"OPERATION_DENIED_CIDRBLOCK_NOT_RECYCLED":         {http.StatusForbidden, "The CIDR block is not in the recycle bin."},
	"INVALID_CIDRBLOCK_NOT_FOUND":                     {http.StatusNotFound, "The CIDR block does not exist."},
	"OPERATION_DENIED_CIDRBLOCK_RECYCLED":             {http.StatusForbidden, "The CIDR block is in the recycle bin."},
	"OPERATION_DENIED_CIDRBLOCK_IP_COUNT_REACH_LIMIT": {http.StatusForbidden, "The instance holds the most block addresses allowed."},
	"OPERATION_DENIED_IP_NOT_BELONG":                  {http.StatusForbidden, "The address does not belong to the CIDR block."},
	// Also the load balancers' (docs/loadbalancers.md): SDK22's Operation.Denied.Invalid.Status.
	"OPERATION_DENIED_INVALID_STATUS": {http.StatusForbidden, "The resource's status does not allow this operation."},
}

// Codes returns every code of the error table, for tests that compare the
// table with the spec.
func Codes() []Code {
	codes := make([]Code, 0, len(codeTable))
	for c := range codeTable {
		codes = append(codes, c)
	}
	return codes
}

// Status returns the HTTP status of the code, 500 for a code not in the table.
func (c Code) Status() int {
	if info, ok := codeTable[c]; ok {
		return info.Status
	}
	return http.StatusInternalServerError
}

// Known reports whether the code is in the error table.
func (c Code) Known() bool {
	_, ok := codeTable[c]
	return ok
}

// Error is an API error: a code of the table and a message safe to show the
// client. Anything that is not an *Error is internal and answers
// INTERNAL_SERVER_ERROR.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf returns an *Error with the code and a formatted message. The
// message must never contain secrets or internal error text.
func Errorf(code Code, format string, args ...any) *Error {
	if !code.Known() {
		panic(fmt.Sprintf("metalplane: error code %q is not in the table", code))
	}
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// E returns an *Error with the code's default message.
func E(code Code) *Error {
	info, ok := codeTable[code]
	if !ok {
		panic(fmt.Sprintf("metalplane: error code %q is not in the table", code))
	}
	return &Error{Code: code, Message: info.Message}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and
// INTERNAL_SERVER_ERROR otherwise.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "INTERNAL_SERVER_ERROR"
}

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return codeTable["INTERNAL_SERVER_ERROR"].Message
}
