-- Wireshark dissector for the proxyha director protocol (IP protocol 253): announcements and load
-- reports of @proxyha/lb-director, version 1. The byte layout is specified in the package README
-- ("Wire format").
--
--   tshark -X lua_script:proxyha-lb.lua -r capture.pcap -V
--   wireshark -X lua_script:proxyha-lb.lua capture.pcap
-- or copy this file into the personal Lua plugins folder (~/.local/lib/wireshark/plugins/).
--
-- Every field is shown; the Internet checksum is verified (proxyha_lb.checksum.status: 1 good, 0 bad);
-- lengths, counts and values out of range raise expert info. The HMAC of the authentication trailer
-- is shown, not verified (the dissector has no key).

local p = Proto("proxyha_lb", "Proxyha LB Director Protocol")

local types = { [1] = "Announcement", [2] = "Load report" }
local families = { [4] = "IPv4", [6] = "IPv6" }
local health = { [0] = "ok", [1] = "failure" }
local checksum_status = { [0] = "Bad", [1] = "Good", [2] = "Unverified" }

local f = {
  version = ProtoField.uint8("proxyha_lb.version", "Version", base.DEC),
  type = ProtoField.uint8("proxyha_lb.type", "Type", base.DEC, types),
  group = ProtoField.uint8("proxyha_lb.group", "Group", base.DEC),
  flags = ProtoField.uint8("proxyha_lb.flags", "Flags", base.HEX),
  flags_auth = ProtoField.bool("proxyha_lb.flags.auth", "Authenticated", 8, nil, 0x01),
  flags_table = ProtoField.bool("proxyha_lb.flags.table", "Carries the table", 8, nil, 0x02),
  flags_reserved = ProtoField.uint8("proxyha_lb.flags.reserved", "Reserved flags", base.HEX, nil, 0xfc),
  length = ProtoField.uint16("proxyha_lb.length", "Length", base.DEC),
  checksum = ProtoField.uint16("proxyha_lb.checksum", "Checksum", base.HEX),
  checksum_status = ProtoField.uint8("proxyha_lb.checksum.status", "Checksum status", base.DEC, checksum_status),
  node_id = ProtoField.guid("proxyha_lb.node_id", "Node id"),
  seq = ProtoField.uint32("proxyha_lb.seq", "Sequence", base.DEC),
  timestamp = ProtoField.uint64("proxyha_lb.timestamp", "Timestamp (ms since epoch)", base.DEC),
  time = ProtoField.absolute_time("proxyha_lb.time", "Time", base.UTC),
  interval = ProtoField.uint16("proxyha_lb.interval", "Interval (ms)", base.DEC),
  address_family = ProtoField.uint8("proxyha_lb.address_family", "Address family", base.DEC, families),
  reserved = ProtoField.uint8("proxyha_lb.reserved", "Reserved", base.HEX),
  address = ProtoField.ipv4("proxyha_lb.address", "Address"),
  address6 = ProtoField.ipv6("proxyha_lb.address6", "Address"),
  priority = ProtoField.uint8("proxyha_lb.priority", "Priority", base.DEC),
  name_length = ProtoField.uint8("proxyha_lb.name_length", "Name length", base.DEC),
  name = ProtoField.string("proxyha_lb.name", "Name", base.UNICODE),
  redirect_count = ProtoField.uint8("proxyha_lb.redirect_count", "Redirects", base.DEC),
  redirect = ProtoField.none("proxyha_lb.redirect", "Redirect"),
  redirect_original = ProtoField.uint16("proxyha_lb.redirect.original_port", "Original port", base.DEC),
  redirect_destination = ProtoField.uint16("proxyha_lb.redirect.destination_port", "Destination port", base.DEC),
  health = ProtoField.uint8("proxyha_lb.health", "Health", base.DEC, health),
  version_length = ProtoField.uint8("proxyha_lb.software_version_length", "Software version length", base.DEC),
  software_version = ProtoField.string("proxyha_lb.software_version", "Software version", base.UNICODE),
  weight = ProtoField.uint16("proxyha_lb.weight", "Weight", base.DEC),
  cpu = ProtoField.uint16("proxyha_lb.cpu", "CPU (per mille)", base.DEC),
  memory = ProtoField.uint16("proxyha_lb.memory", "Memory (per mille)", base.DEC),
  load = ProtoField.uint16("proxyha_lb.load", "Load per CPU (hundredths)", base.DEC),
  failing_port_count = ProtoField.uint8("proxyha_lb.failing_port_count", "Failing ports", base.DEC),
  failing_port = ProtoField.uint16("proxyha_lb.failing_port", "Failing port", base.DEC),
  connection_count = ProtoField.uint8("proxyha_lb.connection_count", "Connection entries", base.DEC),
  connection = ProtoField.none("proxyha_lb.connection", "Connections"),
  connection_port = ProtoField.uint16("proxyha_lb.connection.port", "Port", base.DEC),
  connection_active = ProtoField.uint32("proxyha_lb.connection.active", "Active connections", base.DEC),
  table = ProtoField.none("proxyha_lb.table", "Table"),
  table_size = ProtoField.uint32("proxyha_lb.table.size", "Buckets", base.DEC),
  table_seed = ProtoField.uint32("proxyha_lb.table.seed", "Hash seed", base.HEX),
  table_member_count = ProtoField.uint8("proxyha_lb.table.member_count", "Members", base.DEC),
  member = ProtoField.none("proxyha_lb.member", "Member"),
  member_node_id = ProtoField.guid("proxyha_lb.member.node_id", "Node id"),
  member_family = ProtoField.uint8("proxyha_lb.member.address_family", "Address family", base.DEC, families),
  member_address = ProtoField.ipv4("proxyha_lb.member.address", "Address"),
  member_address6 = ProtoField.ipv6("proxyha_lb.member.address6", "Address"),
  member_capacity = ProtoField.uint16("proxyha_lb.member.capacity", "Capacity", base.DEC),
  member_weight = ProtoField.uint32("proxyha_lb.member.weight", "Effective weight (1/256)", base.DEC),
  member_flags = ProtoField.uint8("proxyha_lb.member.flags", "Member flags", base.HEX),
  member_healthy = ProtoField.bool("proxyha_lb.member.healthy", "Healthy", 8, nil, 0x01),
  member_bounded = ProtoField.bool("proxyha_lb.member.bounded", "Bounded", 8, nil, 0x02),
  auth = ProtoField.none("proxyha_lb.auth", "Authentication trailer"),
  auth_key_id = ProtoField.uint8("proxyha_lb.auth.key_id", "Key id", base.DEC),
  auth_hmac = ProtoField.bytes("proxyha_lb.auth.hmac", "HMAC-SHA256"),
}
p.fields = f

local e_malformed = ProtoExpert.new("proxyha_lb.malformed", "Malformed proxyha LB message",
  expert.group.MALFORMED, expert.severity.ERROR)
local e_checksum = ProtoExpert.new("proxyha_lb.checksum.bad", "Bad checksum",
  expert.group.CHECKSUM, expert.severity.ERROR)
local e_value = ProtoExpert.new("proxyha_lb.bad_value", "Field value out of range",
  expert.group.PROTOCOL, expert.severity.WARN)
p.experts = { e_malformed, e_checksum, e_value }

local MAX_LIST = 64

-- The Internet checksum (RFC 1071) over tvb[0 .. len): returns the folded sum (0xffff verifies).
local function folded_sum(tvb, len)
  local sum = 0
  local i = 0
  while i + 1 < len do
    sum = sum + tvb(i, 2):uint()
    i = i + 2
  end
  if i < len then sum = sum + tvb(i, 1):uint() * 256 end
  while sum > 0xffff do sum = (sum % 0x10000) + math.floor(sum / 0x10000) end
  return sum
end

function p.dissector(tvb, pinfo, root)
  local captured = tvb:len()
  pinfo.cols.protocol = "PROXYHA-LB"
  local tree = root:add(p, tvb())

  local function malformed(text)
    tree:add_proto_expert_info(e_malformed, text)
    pinfo.cols.info:append(" [malformed]")
    return captured
  end

  if captured < 8 then return malformed("shorter than the 8-byte header start") end
  tree:add(f.version, tvb(0, 1))
  local version = tvb(0, 1):uint()
  local type_item = tree:add(f.type, tvb(1, 1))
  local mtype = tvb(1, 1):uint()
  local group_item = tree:add(f.group, tvb(2, 1))
  local flags_item = tree:add(f.flags, tvb(3, 1))
  flags_item:add(f.flags_auth, tvb(3, 1))
  flags_item:add(f.flags_table, tvb(3, 1))
  flags_item:add(f.flags_reserved, tvb(3, 1))
  local flags = tvb(3, 1):uint()
  local length_item = tree:add(f.length, tvb(4, 2))
  local length = tvb(4, 2):uint()
  tree:add(f.checksum, tvb(6, 2))

  pinfo.cols.info:set((types[mtype] or ("Type " .. mtype)) .. ", group " .. tvb(2, 1):uint())

  if version ~= 1 then
    tree:add_proto_expert_info(e_malformed, "unknown version " .. version .. " (this dissector knows 1)")
    return captured
  end
  if not types[mtype] then
    type_item:add_proto_expert_info(e_malformed, "unknown message type " .. mtype)
    return captured
  end
  if length > captured then
    length_item:add_proto_expert_info(e_malformed, "length " .. length .. " exceeds the " .. captured .. " bytes captured")
    return captured
  end
  if length < captured then
    length_item:add_proto_expert_info(e_malformed, (captured - length) .. " bytes follow the message")
  end
  if length < 47 then
    length_item:add_proto_expert_info(e_malformed, "length " .. length .. " is below the 47-byte minimum")
    return captured
  end

  local good = folded_sum(tvb, length) == 0xffff
  local status_item = tree:add(f.checksum_status, tvb(6, 2), good and 1 or 0)
  status_item:set_generated()
  if not good then status_item:add_proto_expert_info(e_checksum) end

  if tvb(2, 1):uint() == 0 then group_item:add_proto_expert_info(e_value, "group 0 (valid: 1..255)") end
  if flags >= 4 then flags_item:add_proto_expert_info(e_value, "unknown flags set") end
  local auth = flags % 2 == 1
  local with_table = math.floor(flags / 2) % 2 == 1
  if with_table and mtype ~= 1 then flags_item:add_proto_expert_info(e_value, "table flag on a report") end

  tree:add(f.node_id, tvb(8, 16))
  tree:add(f.seq, tvb(24, 4))
  tree:add(f.timestamp, tvb(28, 8))
  local ms = tvb(28, 8):uint64()
  local time_item = tree:add(f.time, tvb(28, 8), NSTime.new((ms / 1000):tonumber(), (ms % 1000):tonumber() * 1000000))
  time_item:set_generated()
  local interval_item = tree:add(f.interval, tvb(36, 2))
  if tvb(36, 2):uint() == 0 then interval_item:add_proto_expert_info(e_value, "interval 0") end
  local family_item = tree:add(f.address_family, tvb(38, 1))
  local family = tvb(38, 1):uint()
  local reserved_item = tree:add(f.reserved, tvb(39, 1))
  if tvb(39, 1):uint() ~= 0 then reserved_item:add_proto_expert_info(e_value, "reserved byte is not zero") end

  local body_end = length
  if auth then body_end = length - 33 end
  local off = 40

  -- true when n more bytes fit before the end of the body; else flags the message as malformed
  local function need(n, what)
    if off + n <= body_end then return true end
    tree:add_proto_expert_info(e_malformed, "the message ends inside " .. what .. " (offset " .. off .. ")")
    pinfo.cols.info:append(" [malformed]")
    return false
  end

  if family == 4 then
    if not need(4, "the address") then return captured end
    tree:add(f.address, tvb(off, 4))
    off = off + 4
  elseif family == 6 then
    if not need(16, "the address") then return captured end
    tree:add(f.address6, tvb(off, 16))
    off = off + 16
  else
    family_item:add_proto_expert_info(e_malformed, "address family " .. family .. " (expected 4 or 6)")
    return captured
  end

  -- a length-prefixed UTF-8 string; returns false when malformed
  local function text(len_field, field, what, max)
    if not need(1, what) then return false end
    local len_item = tree:add(len_field, tvb(off, 1))
    local n = tvb(off, 1):uint()
    off = off + 1
    if n > max then len_item:add_proto_expert_info(e_value, what .. " longer than " .. max .. " bytes") end
    if not need(n, what) then return false end
    if n == 0 then
      tree:add(field, tvb(off - 1, 1), ""):set_generated()
    else
      tree:add_packet_field(field, tvb(off, n), ENC_UTF_8)
    end
    off = off + n
    return true
  end

  -- a list count; returns the count, or nil when malformed
  local function count(field, what, size)
    if not need(1, what) then return nil end
    local item = tree:add(field, tvb(off, 1))
    local c = tvb(off, 1):uint()
    off = off + 1
    if c > MAX_LIST then item:add_proto_expert_info(e_value, c .. " " .. what .. " (at most " .. MAX_LIST .. ")") end
    if not need(c * size, what) then return nil end
    return c
  end

  if mtype == 1 then
    if not need(1, "the priority") then return captured end
    tree:add(f.priority, tvb(off, 1))
    off = off + 1
    if not text(f.name_length, f.name, "the name", 64) then return captured end
    local c = count(f.redirect_count, "redirects", 4)
    if c == nil then return captured end
    for _ = 1, c do
      local from, to = tvb(off, 2):uint(), tvb(off + 2, 2):uint()
      local item = tree:add(f.redirect, tvb(off, 4))
      item:append_text(": " .. from .. " -> " .. to)
      item:add(f.redirect_original, tvb(off, 2))
      item:add(f.redirect_destination, tvb(off + 2, 2))
      if from == 0 or to == 0 then item:add_proto_expert_info(e_value, "port 0") end
      off = off + 4
    end
    pinfo.cols.info:append(", seq " .. tvb(24, 4):uint() .. ", " .. c .. " redirects")
    if with_table then
      if not need(9, "the table") then return captured end
      local table_start = off
      local t = tree:add(f.table, tvb(off, 9))
      local size_item = t:add(f.table_size, tvb(off, 4))
      local size = tvb(off, 4):uint()
      if size < 2 or size > 16777213 then size_item:add_proto_expert_info(e_value, "table size out of range") end
      t:add(f.table_seed, tvb(off + 4, 4))
      local count_item = t:add(f.table_member_count, tvb(off + 8, 1))
      local members = tvb(off + 8, 1):uint()
      if members > 64 then count_item:add_proto_expert_info(e_value, members .. " members (at most 64)") end
      off = off + 9
      for _ = 1, members do
        if not need(17, "a table member") then return captured end
        local mfamily = tvb(off + 16, 1):uint()
        local alen = 4
        if mfamily == 6 then alen = 16 end
        if not need(17 + alen + 7, "a table member") then return captured end
        local item = t:add(f.member, tvb(off, 17 + alen + 7))
        item:add(f.member_node_id, tvb(off, 16))
        local fam_item = item:add(f.member_family, tvb(off + 16, 1))
        if mfamily == 4 then
          item:add(f.member_address, tvb(off + 17, 4))
          item:append_text(": " .. tostring(tvb(off + 17, 4):ipv4()))
        elseif mfamily == 6 then
          item:add(f.member_address6, tvb(off + 17, 16))
          item:append_text(": " .. tostring(tvb(off + 17, 16):ipv6()))
        else
          fam_item:add_proto_expert_info(e_malformed, "address family " .. mfamily .. " (expected 4 or 6)")
          return captured
        end
        off = off + 17 + alen
        item:add(f.member_capacity, tvb(off, 2))
        item:add(f.member_weight, tvb(off + 2, 4))
        local mflags_item = item:add(f.member_flags, tvb(off + 6, 1))
        mflags_item:add(f.member_healthy, tvb(off + 6, 1))
        mflags_item:add(f.member_bounded, tvb(off + 6, 1))
        if tvb(off + 6, 1):uint() >= 4 then mflags_item:add_proto_expert_info(e_value, "unknown member flags set") end
        off = off + 7
      end
      t:set_len(off - table_start)
      pinfo.cols.info:append(", table of " .. members)
    end
  else
    if not need(1, "the health") then return captured end
    local health_item = tree:add(f.health, tvb(off, 1))
    if tvb(off, 1):uint() > 1 then health_item:add_proto_expert_info(e_value, "unknown health status") end
    off = off + 1
    if not text(f.name_length, f.name, "the name", 64) then return captured end
    if not text(f.version_length, f.software_version, "the software version", 32) then return captured end
    if not need(8, "weight and resources") then return captured end
    tree:add(f.weight, tvb(off, 2))
    local cpu_item = tree:add(f.cpu, tvb(off + 2, 2))
    local memory_item = tree:add(f.memory, tvb(off + 4, 2))
    tree:add(f.load, tvb(off + 6, 2))
    if tvb(off + 2, 2):uint() > 1000 then cpu_item:add_proto_expert_info(e_value, "more than 1000 per mille") end
    if tvb(off + 4, 2):uint() > 1000 then memory_item:add_proto_expert_info(e_value, "more than 1000 per mille") end
    off = off + 8
    local c = count(f.failing_port_count, "failing ports", 2)
    if c == nil then return captured end
    for _ = 1, c do
      local item = tree:add(f.failing_port, tvb(off, 2))
      if tvb(off, 2):uint() == 0 then item:add_proto_expert_info(e_value, "port 0") end
      off = off + 2
    end
    local cc = count(f.connection_count, "connection entries", 6)
    if cc == nil then return captured end
    for _ = 1, cc do
      local port, active = tvb(off, 2):uint(), tvb(off + 2, 4):uint()
      local item = tree:add(f.connection, tvb(off, 6))
      item:append_text(": port " .. port .. ", " .. active .. " active")
      item:add(f.connection_port, tvb(off, 2))
      item:add(f.connection_active, tvb(off + 2, 4))
      if port == 0 then item:add_proto_expert_info(e_value, "port 0") end
      off = off + 6
    end
    pinfo.cols.info:append(", seq " .. tvb(24, 4):uint() .. ", " .. cc .. " ports")
  end

  if off < body_end then
    tree:add_proto_expert_info(e_malformed, (body_end - off) .. " bytes follow the message body")
  end
  if auth then
    local t = tree:add(f.auth, tvb(body_end, 33))
    local key_item = t:add(f.auth_key_id, tvb(body_end, 1))
    if tvb(body_end, 1):uint() == 0 then key_item:add_proto_expert_info(e_value, "key id 0") end
    t:add(f.auth_hmac, tvb(body_end + 1, 32))
    pinfo.cols.info:append(", key " .. tvb(body_end, 1):uint())
  end
  return length
end

DissectorTable.get("ip.proto"):add(253, p)
