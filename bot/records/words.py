"""The words of the report and the register, per language.

There is no message catalog yet; these two small tables keep the report's headings and
the labels of coded values in one place until the catalog absorbs them."""

from __future__ import annotations

EN: dict[str, str] = {
    "title": "Improvement report (8D)",
    "record_title": "Complaint record",
    "ref": "Reference",
    "customer": "Customer",
    "contact": "Customer contact",
    "product": "Product",
    "lots": "Lots",
    "quantity": "Quantity",
    "received": "Received",
    "due": "Reply due",
    "replied": "Replied",
    "severity": "Severity",
    "status": "Status",
    "version": "Version",
    "times_in": "Times are local",
    "d1": "D1 Team",
    "tq": "Technical Quality",
    "units": "Responsible units",
    "owners": "Owners",
    "reporter": "Reported by",
    "d2": "D2 Problem description",
    "description": "Description",
    "via": "Received via",
    "evidence": "Evidence",
    "none": "None",
    "d3": "D3 Containment",
    "where": "Where",
    "warehouse": "In stock (warehouse)",
    "transit": "In transit",
    "at_customer": "At the customer",
    "disposition": "Disposition",
    "actions": "Actions",
    "d4": "D4 Root cause",
    "category": "Root cause (4M1E)",
    "why": "Why-why analysis",
    "escape": "Why the defect escaped detection",
    "d56": "D5/D6 Corrective actions",
    "owner": "Owner",
    "planned": "Planned completion",
    "lot_disposition": "Disposition of the defective lot",
    "d7": "D7 Preventive measures",
    "direction": "Direction",
    "measure": "Measure",
    "documents": "Documents standardised",
    "revisions": "Document numbers and revisions",
    "d8": "D8 Approval",
    "approver": "Approved by",
    "approved_at": "Approved at",
    "approved_what": "What was approved",
    "not_approved": "Not approved yet",
    "history": "History",
    "sent": "Sent to the customer",
    "rejected": "Rejected by management",
    "objection": "Customer did not accept",
    "reopened": "Reopened",
    "page": "Page {n} of {m}",
    "hash": "Content hash",
    "corrective": "corrective action",
    "preventive": "preventive action",
    "pending": "Not given yet",
    "st_planned": "Planned",
    "st_customer": "With the customer",
    "st_verifying": "Implemented, being verified",
    "st_verified": "Verified effective",
    "st_superseded": "Superseded",
    "timeline": "Timeline",
    "when": "When",
    "who": "Who",
    "what": "What",
    "details": "Details",
    "lot_checks": "Lot checks",
    "closure": "Closure",
    "name": "Name",
    "from": "From",
}

ZH: dict[str, str] = {
    "title": "改善报告 (8D)",
    "record_title": "客诉记录",
    "ref": "编号",
    "customer": "客户",
    "contact": "客户联系人",
    "product": "产品",
    "lots": "批号",
    "quantity": "数量",
    "received": "接收日期",
    "due": "回复期限",
    "replied": "回复日期",
    "severity": "客诉等级",
    "status": "状态",
    "version": "版本",
    "times_in": "时间为当地时间",
    "d1": "D1 小组成员",
    "tq": "技术质量部",
    "units": "责任单位",
    "owners": "负责人",
    "reporter": "登记人",
    "d2": "D2 问题描述",
    "description": "不良描述",
    "via": "接收方式",
    "evidence": "不良样品 / 图片",
    "none": "无",
    "d3": "D3 临时改善对策",
    "where": "位置",
    "warehouse": "在库",
    "transit": "在途 (ON THE WAY)",
    "at_customer": "客户端库存",
    "disposition": "处置",
    "actions": "措施",
    "d4": "D4 根本原因",
    "category": "原因 (人、机、料、法、环)",
    "why": "为什么分析",
    "escape": "流出原因",
    "d56": "D5/D6 矫正措施",
    "owner": "负责人",
    "planned": "预计完成日期",
    "lot_disposition": "不良批处置",
    "d7": "D7 预防措施",
    "direction": "方向",
    "measure": "措施",
    "documents": "标准化文件",
    "revisions": "文件编号及版本",
    "d8": "D8 审核",
    "approver": "审核人",
    "approved_at": "审核时间",
    "approved_what": "审核内容",
    "not_approved": "尚未审核",
    "history": "记录",
    "sent": "提交客户确认",
    "rejected": "主管驳回",
    "objection": "客户不接受",
    "reopened": "重新开案",
    "page": "第 {n} 页 / 共 {m} 页",
    "hash": "内容校验",
    "corrective": "矫正措施",
    "preventive": "预防措施",
    "pending": "尚未提供",
    "st_planned": "计划中",
    "st_customer": "客户确认中",
    "st_verifying": "已实施, 验证中",
    "st_verified": "验证有效",
    "st_superseded": "已更新",
    "timeline": "处理记录",
    "when": "时间",
    "who": "人员",
    "what": "事项",
    "details": "内容",
    "lot_checks": "批次验证",
    "closure": "结案",
    "name": "名称",
    "from": "来源",
}

# labels of the coded values the case stores, in Chinese (English ones come from steps.py)
ZH_CODES: dict[str, dict[str, str]] = {
    "category": {
        "people": "人",
        "machine": "机",
        "material": "料",
        "method": "法",
        "environment": "环",
    },
    "disposition": {
        "rework": "返工",
        "sort": "挑选 / 全检",
        "scrap": "报废",
        "return": "退回供应商",
        "concession": "特采",
        "none": "无库存影响",
    },
    "documents": {
        "work_instruction": "作业指导书",
        "control_plan": "控制计划",
        "fmea": "FMEA",
        "fixture": "治具 / 防错",
        "training": "培训",
        "inspection": "检验标准",
    },
    "via": {
        "phone": "电话",
        "fax": "传真",
        "letter": "信函",
        "email": "邮件",
        "verbal": "口头",
        "visit": "客户来访",
        "portal": "客户平台",
        "in_person": "当面",
    },
    "severity": {"A": "A 严重", "B": "B 重大", "C": "C 一般"},
    "closure": {
        "A": "A 改善措施已落实并验证有效",
        "B": "B 连续三批无同样品质异常",
        "not_ours": "非本公司责任 (已婉转告知客户)",
    },
}


class Words:
    """Headings in one language, or in both side by side ("D4 Root cause / D4 根本原因")."""

    def __init__(self, language: str = "en", bilingual: bool = False) -> None:
        self.language = language
        self.bilingual = bilingual

    def __call__(self, key: str, **fmt: object) -> str:
        en, zh = EN[key].format(**fmt), ZH[key].format(**fmt)
        if self.bilingual:
            return en if en == zh else f"{en} / {zh}"
        return zh if self.language == "zh-CN" else en

    def code(self, kind: str, value: str | None, english: dict[str, str]) -> str:
        """A coded value (disposition "rework", category "people", …) as a reader says it."""
        if not value:
            return ""
        en = english.get(value, value)
        zh = ZH_CODES.get(kind, {}).get(value, en)
        if self.bilingual:
            return en if en == zh else f"{en} / {zh}"
        return zh if self.language == "zh-CN" else en


# the register's columns: (key, English, 中文)
REGISTER_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("ref", "Reference", "编号"),
    ("received", "Received", "接收日期"),
    ("customer", "Customer", "客户"),
    ("product", "Product", "产品"),
    ("lots", "Lots", "批号"),
    ("quantity", "Quantity", "数量"),
    ("severity", "Severity", "客诉等级"),
    ("responsibility", "Responsibility", "责任归属"),
    ("units", "Responsible units", "责任单位"),
    ("cause", "Root cause (4M1E)", "原因方向"),
    ("status", "Status", "状态"),
    ("ca_days", "Working days to corrective reply", "矫正措施回复工作日"),
    ("ca_on_time", "Corrective on time (≤ 1)", "矫正措施按时 (≤1)"),
    ("pa_days", "Working days to preventive reply", "预防措施回复工作日"),
    ("pa_on_time", "Preventive on time (≤ 3)", "预防措施按时 (≤3)"),
    ("sent", "Sent to customer", "提交客户日期"),
    ("closure", "Closure criterion", "结案条件"),
    ("closed", "Closed", "结案日期"),
    ("rework", "Rework loops", "重新对策次数"),
    ("evidence", "Evidence", "不良样品 / 图片"),
)
ZH_STATUS = {
    "received": "已接收",
    "info_requested": "待补充信息",
    "responsibility": "待判定责任",
    "customer_notice": "客户责任 — 告知中",
    "severity": "待定客诉等级",
    "containment": "临时对策",
    "corrective": "矫正措施",
    "preventive": "预防措施",
    "approval": "待主管审核",
    "approved": "已审核 — 待提交",
    "customer_review": "客户确认中",
    "verification": "效果验证中",
    "closed": "已结案",
}
ZH_RESPONSIBILITY = {"ours": "本公司", "customer": "客户"}
