"""The phrases the offline reply rules look for (dealpilot/ai/replies.py says in what order).

Australian business English, the way Codeteki's and Desi Firms' contacts write, with the
common Hinglish of Desi Firms' community; typos where people make them."""

from __future__ import annotations

import re


def _rx(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")", re.IGNORECASE)


BOUNCE_SUBJECT = _rx(
    r"delivery status notification",
    r"mail delivery (?:failed|failure|subsystem)",
    r"undeliverable:",
    r"undelivered mail",
    r"returned mail",
    r"delivery (?:has )?failed",
    r"failure notice",
    r"message blocked",
)
BOUNCE_BODY = _rx(
    r"address not found",
    r"user unknown",
    r"mailbox (?:unavailable|not found|does not exist|full|disabled)",
    r"recipient address rejected",
    r"message (?:could not|couldn't|wasn't|was not) (?:be )?delivered",
    r"couldn't be delivered",
    r"delivery to the following recipients? failed",
    r"5[0-5]\d[ -]5\.\d\.\d+",  # SMTP permanent failure, e.g. "550 5.1.1"
    r"mail delivery failed",
    r"(?:permanent|fatal) (?:error|failure)",
    r"no (?:such user|mailbox here)",
    r"host or domain name not found",
)
LEFT_COMPANY = _rx(
    r"(?:has|have|had) (?:now )?left "
    r"(?:the (?:company|business|firm|organi[sz]ation)|us\b|[A-Z]\w+)",
    r"(?:i'?ve|i have|he has|she has|they have) left\b",
    r"\w+ left (?:us|the company|the business) (?:in|last|on)",
    r"(?:is|am|are) no longer (?:with|at|employed|working|part of)",
    r"no longer works? (?:here|at|for|with)",
    r"no longer (?:employed|working) (?:by|at|with|here)",
    r"(?:doesn'?t|does not|don'?t|do not) work (?:here|there|for us|with us) any ?more",
    r"(?:not|isn'?t|aren'?t) working (?:here|there|with us) any ?more",
    r"(?:is|isn'?t) (?:not )?working here any ?more",
    r"finished up (?:at|with|here)",
    r"(?:has|have|i'?ve) moved on from",
    r"moved on from",
    r"(?:he|she|they) retired",
    r"(?:company|job|naukri) (?:chhod|chod) (?:di|diya|dee)",
    r"ab (?:yahan|yaha) kaam nahi",
)
OOO = _rx(
    r"^\W*(?:away|on leave|ooo)\b",
    r"out of (?:the )?office",
    r"(?:i am|i'm|im|i will be|i'll be) (?:currently )?"
    r"(?:away|on leave|travell?ing|out|overseas|off)",
    r"currently (?:away|overseas|travell?ing|on leave|out)",
    r"away (?:from (?:the|my) (?:office|desk|email)|on|until|till|at)",
    r"on (?:annual |parental |maternity |paternity |sick |long service |personal )?leave",
    r"on (?:holiday|holidays|vacation)",
    r"(?:closed|shut) (?:for|from|over|until|till)",
    r"(?:office|shop|store|restaurant|practice|clinic) (?:is |will be )?closed",
    r"reopens?\b",
    r"limited access to (?:my )?e-?mail",
    r"(?:tak|till) india",
    r"india mein hoon",
    r"leave (?:from|until|till)",
)
OOO_SUBJECT = _rx(r"out of (?:the )?office", r"\booo\b", r"away\b", r"on leave")
AUTO_REPLY = _rx(
    r"ticket",
    r"case (?:id|number|\d)",
    r"reference (?:number|inc|\w*\d)",
    r"(?:not|isn'?t|is not) (?:being )?monitored",
    r"unattended",
    r"not read\b",
    r"(?:do not|don'?t|please don'?t) reply",
    r"automated (?:message|response|reply|email)",
    r"this is an auto",
    r"auto(?:matic)?[- ]?(?:reply|response|generated)",
    r"(?:we(?:'ve| have)?|has been) (?:received|got) your (?:message|email|enquiry|request)",
    r"(?:your|the) (?:message|email|enquiry|request|case) (?:has been|was) "
    r"(?:received|logged|forwarded)",
    r"(?:reply|respond|get back to you) within",
    r"within \d+(?:\s*-\s*\d+)? (?:business |working )?(?:hours|days)",
    r"business hours",
    r"office hours",
    r"(?:email )?address (?:has changed|is no longer in use)",
    r"no longer in use",
    r"verify (?:your|you'?re)",
    r"confirm your (?:address|subscription|email)",
    r"back-to-back meetings",
    r"as soon as (?:we|possible)",
    r"(?:we'?ll|we will|someone .{0,30}will) (?:be in touch|get back to you)",
    r"thanks? (?:you )?for (?:contacting|emailing|getting in touch|reaching out to) [A-Z]",
)
REFERRAL = _rx(
    r"(?:talk|speak|chat) (?:to|with) (?:\w+ )?(?:instead|[A-Z]\w+|our|my|the|him|her)",
    r"(?:contact|email|reach out to|get in touch with|try|direct (?:this|it|your \w+) to"
    r"|resend (?:this|it) to)\b.{0,40}\b(?:instead|our|my|manager|team|director|owner)",
    r"(?:email|contact|try|direct this to|reach out to|get in touch with|speak to|talk to)\b"
    r"[^@\n]{0,60}@",
    r"you(?:'ll| will| would)? (?:want|need|should|'d need) to (?:speak|talk|email|contact|reach)",
    r"you should speak",
    r"(?:not|isn'?t) (?:the right|the best|the correct) (?:person|contact)",
    r"wrong person",
    r"not my (?:area|department|call)",
    r"(?:not|isn'?t) (?:something|what) i (?:handle|look after|deal with)",
    r"i'?m (?:just|only) (?:the|a)\b",
    r"i only (?:look after|handle|do)",
    r"not the decision[- ]maker",
    r"(?:best|right) person (?:is|would be|to (?:talk|speak))",
    r"(?:i'?ve|i have|i will|i'll) (?:cc'?d|copied|looped in|added)",
    r"cc'?d\b",
    r"adding my colleague",
    r"(?:forward|forwarding|pass|passing|passed) (?:this|it|your (?:details|email|note)) (?:on|to)",
    r"forwarding (?:this )?to",
    r"i'?ll forward",
    r"(?:changed|moved into a different|new) roles?",
    r"(?:now )?looks? after (?:digital|marketing|it|our)",
    r"baat karo",
    r"unse contact",
    r"contact karo",
)
NOT_INTERESTED = _rx(
    r"^\W*(?:no|nope|nah|nahi|no ta|pass)\b"
    r"[\s.,!]*(?:thanks?|thank you|ta|cheers|mate|sorry)?[\s.!]*$",
    r"^\W*no[.,!]",
    r"not interested",
    r"no,? thanks?(?: you)?",
    r"thanks,? but no",
    r"not (?:for us|a (?:good )?fit|right for us|looking|at this (?:time|stage)|right now|now|"
    r"a priority|something we|what we|keen|needed|required)",
    r"(?:wasn'?t|isn'?t|not) a (?:good )?fit",
    r"(?:we're|we are|i'm|i am) (?:all )?(?:set|good|sorted|covered|not keen|happy with)",
    r"all good,? thanks",
    r"(?:we'?ll|we will|i'?ll|i will) pass",
    r"pass for now",
    r"already (?:have|use|work with|listed|on|got)",
    r"(?:don'?t|do not) (?:need|advertise|think (?:this|it) is for us|have the budget|bother)",
    r"no need",
    r"(?:gone|going|went|decided to go) with (?:someone|another|a different)",
    r"decided not to",
    r"(?:budget'?s?|budgets) (?:has been |been |is )?cut",
    r"a no from us",
    r"winding down|retiring",
    r"happy with (?:our|the) current",
    r"nahi chahiye|zaroorat nahi|zarurat nahi",
    r"maybe (?:next|later)",
    r"in-house",
)
INTERESTED = _rx(
    r"^\W*(?:yes|yep|yeah|yup|sure|keen|bilkul|haan|definitely|absolutely|"
    r"count me in|go for it|go ahead|love to|happy to)\b",
    r"(?<!not )(?<!not very )in?te?rr?ested\b",
    r"keen\b",
    r"sounds? (?:good|great|gud|interesting|like a plan)",
    r"let'?s (?:talk|chat|meet|do it|set|catch|schedule|book|go)",
    r"call me",
    r"give me a (?:call|ring)",
    r"(?:happy|keen|love|like|up for|open) to (?:chat|talk|meet|hear|learn|see|discuss|have)",
    r"(?:i'?d|we'?d) be (?:up for|open to|keen)",
    r"(?:be )?open to a",
    r"book (?:us|me|a|in)\b",
    r"(?:set|pencil) (?:it|something|a time|this|one) (?:up|in)",
    r"go ahead",
    r"proceed",
    r"count me in",
    r"demo\b",
    r"trial\b",
    r"(?:that|this) (?:works|could work)",
    r"see you (?:on |at |then|mon|tue|wed|thu|fri)",
    r"flick me",
    r"(?:can|could|shall) (?:we|you) (?:meet|call|talk|chat|book|catch up)",
    r"free (?:on )?(?:mon|tue|wed|thu|fri|tomorrow|next)",
    r"when(?:'?s| is| are)(?: a)? (?:good|you free)",
    r"what times? (?:works?|suits?)",
    r"please (?:list|add|call|share|send (?:the|through|over|me the (?:invoice|proposal)))",
    r"get started",
    r"exactly what we need",
    r"convinced",
    r"catch up",
    r"(?:a|quick) (?:chat|call|meeting|meet) (?:next|this|on|tomorrow)",
)
QUESTION = _rx(
    r"^\W*(?:what|how|who|which|where|when|why|is|are|do|does|can|could|would|will|price|"
    r"pricing|cost|kya|kitne|sorry what|sorry which)\b",
    r"how (?:much|does|do|long|many|did)",
    r"price",
    r"pricing",
    r"cost",
    r"kya|kitne|kitna",
)
INTERESTED_SOFT = _rx(
    r"send (?:me |us )?(?:over |through )?(?:the |a |some |more )?(?:proposal|details|info|"
    r"information|quote|pricing|calendar)",
    r"tell me more",
    r"(?:would|i'?d) (?:love|like) to",
    r"hear more",
    r"learn more",
)
